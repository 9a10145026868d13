// swift-tools-version: 6.1
// A package that adds its own Swift analyzer to Casebook without forking it:
// it builds `my-casebook`, the full command line with `weekend-share` registered.
import PackageDescription

let package = Package(
    name: "custom-analyzer-package",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Casebook", path: "../.."),
    ],
    targets: [
        .target(name: "WeekendAnalyzers", dependencies: [.product(name: "Casebook", package: "Casebook")]),
        .executableTarget(name: "my-casebook", dependencies: [
            "WeekendAnalyzers",
            .product(name: "Casebook", package: "Casebook"),
        ]),
        .testTarget(name: "WeekendAnalyzersTests", dependencies: ["WeekendAnalyzers", .product(name: "Casebook", package: "Casebook")]),
    ],
    swiftLanguageModes: [.v6]
)
