// swift-tools-version:5.9
// The Sebaya Swift package for iOS apps: the generated Swift bindings (target `Sebaya`) over the Rust
// library packed as an XCFramework (binary target `sebayaFFI`, the C module the bindings import).
//
// Both inputs are made by ./build-xcframework.sh on a Mac and are git-ignored:
//   sebayaFFI.xcframework          static libraries for devices and simulators + C header and module map
//   Sources/Sebaya/sebaya.swift    the bindings, generated from the same build
// Beside them, committed and hand-written: the glue in Sources/Sebaya (URLSessionTransport,
// KeychainKeyStore, VaultDirectory, VaultLifecycle, the async layer) and the privacy manifest PrivacyInfo.xcprivacy.
// In Xcode: File > Add Package Dependencies… > Add Local…, choose this folder, add the `Sebaya`
// library to the app target, then `import Sebaya`.
import PackageDescription

let package = Package(
    name: "Sebaya",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Sebaya", targets: ["Sebaya"]),
    ],
    targets: [
        .binaryTarget(name: "sebayaFFI", path: "sebayaFFI.xcframework"),
        .target(
            name: "Sebaya",
            dependencies: ["sebayaFFI"],
            path: "Sources/Sebaya",
            // The library's privacy manifest (no tracking; required-reason APIs: ios/README.md).
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
    ]
)
