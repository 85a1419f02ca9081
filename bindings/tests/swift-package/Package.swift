// swift-tools-version:5.9
// A Linux stand-in for ios/Package.swift, built by `scripts/test.sh swift`: the same target `Sebaya`
// (the generated bindings, as their own module) over the C module `sebayaFFI` — here a system library
// pointing at the host-built libsebaya.so instead of the XCFramework — and a client executable that
// imports `Sebaya` the way an app does. It proves that the public API is usable from another module
// (access control, names), which compiling the tests into one module cannot show.
import PackageDescription

let package = Package(
    name: "SebayaLinuxCheck",
    targets: [
        .systemLibrary(name: "sebayaFFI", path: "Sources/sebayaFFI"),
        .target(name: "Sebaya", dependencies: ["sebayaFFI"], path: "Sources/Sebaya"),
        .executableTarget(name: "Smoke", dependencies: ["Sebaya"], path: "Sources/Smoke"),
        // The sample app's flow (issue 17, item 8), run against a relay by the swift stage.
        .executableTarget(name: "Sample", dependencies: ["Sebaya"], path: "Sources/Sample"),
    ]
)
