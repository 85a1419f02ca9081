// swift-tools-version:5.9
// The Sebaya Swift package as released: what an app adds by URL (File > Add Package Dependencies…,
// the distribution repository's address, version @VERSION@). scripts/release.sh swift-package writes
// it, with the URL and checksum of the zipped XCFramework made by `scripts/release.sh xcframework`,
// next to the package's Swift sources (the generated bindings and the shipped glue); the publisher
// commits that folder to the distribution repository and tags it @VERSION@.
//
// Unlike ios/Package.swift (a local package over an XCFramework built on the developer's Mac), the
// app team needs neither Rust nor the build script: Xcode downloads the zip, checks its SHA-256
// against `checksum`, and links it.
import PackageDescription

let package = Package(
    name: "Sebaya",
    platforms: [.iOS(.v15)],
    products: [
        .library(name: "Sebaya", targets: ["Sebaya"]),
    ],
    targets: [
        .binaryTarget(
            name: "sebayaFFI",
            url: "@URL@",
            checksum: "@CHECKSUM@"
        ),
        .target(
            name: "Sebaya",
            dependencies: ["sebayaFFI"],
            path: "Sources/Sebaya",
            // The library's privacy manifest: declared, or SwiftPM leaves it out of the app.
            resources: [.copy("PrivacyInfo.xcprivacy")]
        ),
    ]
)
