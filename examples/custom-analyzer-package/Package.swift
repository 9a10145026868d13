// swift-tools-version: 6.1
// A package that adds its own Swift analyzer to Casebook without forking it:
// it builds `my-casebook`, the full command line with `weekend-share` registered.
import PackageDescription

let package = Package(
    name: "custom-analyzer-package",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Casebook", path: "../..")
    ],
    targets: [
        // The analyzer needs only the analysis layer (no SQLite, PostgreSQL, YAML or CLI)...
        .target(name: "WeekendAnalyzers", dependencies: [.product(name: "CasebookAnalysis", package: "Casebook")]),
        // ...the command line that registers it is the full Casebook...
        .executableTarget(
            name: "my-casebook",
            dependencies: [
                "WeekendAnalyzers",
                .product(name: "Casebook", package: "Casebook")
            ]),
        // ...and its tests, the testing kit (in-memory events, `run` through parameter validation).
        .testTarget(
            name: "WeekendAnalyzersTests",
            dependencies: [
                "WeekendAnalyzers",
                .product(name: "CasebookAnalysis", package: "Casebook"),
                .product(name: "CasebookTesting", package: "Casebook")
            ])
    ],
    swiftLanguageModes: [.v6]
)
