// swift-tools-version: 6.1
import PackageDescription

let package = Package(
    name: "Casebook",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "casebook", targets: ["casebook"]),
        // For analyzer authors: the analysis layer alone (no SQLite, PostgreSQL, YAML or CLI) and
        // its testing kit.
        .library(name: "CasebookAnalysis", targets: ["CasebookCore", "CasebookCatalog", "CasebookAnalysis"]),
        .library(name: "CasebookTesting", targets: ["CasebookTesting"]),
        .library(
            name: "Casebook",
            targets: [
                "CasebookCore", "CasebookSQLite", "CasebookIngest", "CasebookCatalog", "CasebookAnalysis",
                "CasebookPlaybooks", "CasebookAnalyzers", "CasebookSimulation", "CasebookCLI",
                "CasebookPostgres", "CasebookClickHouse", "CasebookReport"
            ]),
        .plugin(name: "ValidatePlaybooks", targets: ["ValidatePlaybooks"]),
        .plugin(name: "NewAnalyzer", targets: ["NewAnalyzer"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0")
    ],
    targets: [
        // Event model, dimensions, the aggregate query API and the store protocols.
        .target(name: "CasebookCore"),
        // The embedded SQLite event store (the default backend), with the imported catalog's tables.
        .target(
            name: "CasebookSQLite",
            dependencies: [
                "CasebookCore", "CasebookCatalog",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift")
            ]),
        // libpq, PostgreSQL's own C client library (no SwiftNIO: keeps clean builds short).
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
        // The PostgreSQL event store: Casebook's own schema (with the imported catalog's tables), or a
        // piwheels-style downloads table (read-only).
        .target(name: "CasebookPostgres", dependencies: ["CasebookCore", "CasebookCatalog", "CLibPQ"]),
        // The ClickHouse event store over the HTTP interface (no SwiftNIO), with the imported catalog's tables.
        .target(name: "CasebookClickHouse", dependencies: ["CasebookCore", "CasebookCatalog"]),
        // zlib, for reading .gz logs (Foundation on Linux has no gzip API).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]),
        // Readers for real download-log formats (combined access logs, BigQuery NDJSON, counts CSV)
        // and for package-metadata rows (a `requires_dist` table as NDJSON or CSV).
        .target(
            name: "CasebookIngest",
            dependencies: [
                "CasebookCore", "CasebookCatalog", "CZlib"
            ]),
        // Package metadata: PyPI JSON API documents, PEP 440/503/508/427.
        .target(name: "CasebookCatalog", dependencies: ["CasebookCore"]),
        // The analysis layer: the analyzer API (protocol, context, parameters, values), findings
        // and evidence, the run report, and the toolkit analyzers share (windows, comparisons,
        // robust statistics, phrasing, catalog questions). Analyzers, the playbook engine and the
        // report each depend on it; an analyzer author depends on it alone.
        .target(name: "CasebookAnalysis", dependencies: ["CasebookCore", "CasebookCatalog"]),
        // The testing kit for analyzer authors: in-memory stores from a few events or counts, a
        // small catalog builder, and `run(_:with:)` through the real parameter validation.
        .target(name: "CasebookTesting", dependencies: ["CasebookCore", "CasebookCatalog", "CasebookAnalysis"]),
        // Scenarios every store backend's tests run on a real store (the watcher's registry).
        .target(name: "CasebookStoreTesting", dependencies: ["CasebookCore", "CasebookIngest"]),
        // Defensive YAML reading shared by playbooks and scenarios: limits, no anchors, line:column errors.
        .target(name: "CasebookYAML", dependencies: [.product(name: "Yams", package: "Yams")]),
        // YAML playbooks: parsing, validation into a plan, the runner, external analyzers.
        .target(
            name: "CasebookPlaybooks",
            dependencies: [
                "CasebookCore", "CasebookCatalog", "CasebookAnalysis", "CasebookYAML",
                .product(name: "Yams", package: "Yams")
            ]),
        // Scenario simulator: realistic logs and catalog documents from a declarative scenario.
        .target(
            name: "CasebookSimulation",
            dependencies: [
                "CasebookCore", "CZlib", "CasebookYAML",
                .product(name: "Yams", package: "Yams")
            ]),
        // The built-in analyzers, one file each.
        .target(name: "CasebookAnalyzers", dependencies: ["CasebookCore", "CasebookCatalog", "CasebookAnalysis"]),
        // The findings report: a report model, Markdown, self-contained HTML with SVG charts, JSON.
        .target(name: "CasebookReport", dependencies: ["CasebookCore", "CasebookAnalysis"]),
        // The command line, as a library so custom builds can add analyzers.
        .target(
            name: "CasebookCLI",
            dependencies: [
                "CasebookCore", "CasebookSQLite", "CasebookIngest", "CasebookCatalog", "CasebookAnalysis",
                "CasebookPlaybooks", "CasebookAnalyzers", "CasebookSimulation", "CasebookReport", "CasebookPostgres",
                "CasebookClickHouse", .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        .executableTarget(name: "casebook", dependencies: ["CasebookCLI"]),

        // Benchmarks: figures printed by an executable, never timed tests.
        .target(name: "BenchmarkSupport", dependencies: ["CasebookCore"], path: "Tests/Benchmarks/BenchmarkSupport"),
        .executableTarget(
            name: "casebook-bench",
            dependencies: [
                "BenchmarkSupport", "CasebookCore", "CasebookIngest", "CasebookSQLite", "CasebookSimulation", "CasebookClickHouse"
            ],
            path: "Tests/Benchmarks/CasebookBench"),
        .executableTarget(
            name: "casebook-pg-bench",
            dependencies: [
                "BenchmarkSupport", "CasebookCore", "CasebookIngest", "CasebookSQLite", "CasebookPostgres",
                "CasebookSimulation", "CasebookPlaybooks", "CasebookAnalyzers"
            ],
            path: "Tests/Benchmarks/PostgresBench"),
        // Root-cause localisation on semi-synthetic cubes: Casebook's `Localiser` against published
        // methods (Adtributor, Squeeze), scored by exact-match F1.
        .executableTarget(
            name: "casebook-localise-bench",
            dependencies: [
                "BenchmarkSupport", "CasebookCore", "CasebookAnalysis", "CasebookIngest", "CasebookSQLite", "CasebookSimulation"
            ],
            path: "Tests/Benchmarks/LocaliseBench"),
        // Spike detection on public labelled count series (NAB) and pypistats' PyPI daily fixture:
        // the shipped playbook's detection against published detectors (run in Python), scored by
        // window precision, recall and F1. The data is fetched, never committed.
        .executableTarget(
            name: "casebook-detect-bench",
            dependencies: [
                "BenchmarkSupport", "CasebookCore", "CasebookAnalysis", "CasebookAnalyzers", "CasebookPlaybooks", "CasebookIngest",
                "CasebookSQLite"
            ],
            path: "Tests/Benchmarks/DetectBench"),

        .testTarget(name: "CasebookCoreTests", dependencies: ["CasebookCore"]),
        .testTarget(
            name: "CasebookSQLiteTests",
            dependencies: ["CasebookSQLite", "CasebookIngest", "CasebookCatalog", "CasebookTesting", "CasebookStoreTesting", "CZlib"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CasebookIngestTests", dependencies: ["CasebookIngest", "CasebookSQLite"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CasebookCatalogTests", dependencies: ["CasebookCatalog"],
            exclude: ["packaging"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CasebookPlaybooksTests",
            dependencies: ["CasebookAnalysis", "CasebookPlaybooks", "CasebookAnalyzers", "CasebookSQLite", "CasebookTesting"],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CasebookAnalyzersTests",
            dependencies: [
                "CasebookAnalysis", "CasebookTesting", "CasebookAnalyzers", "CasebookPlaybooks", "CasebookCatalog", "CasebookCore"
            ], resources: [.copy("Fixtures")]),
        .testTarget(name: "CasebookSimulationTests", dependencies: ["CasebookSimulation", "CasebookIngest", "CasebookSQLite"]),
        .testTarget(
            name: "CasebookPostgresTests",
            dependencies: [
                "CasebookAnalysis", "CasebookPostgres", "CasebookSQLite", "CasebookIngest", "CasebookCore",
                "CasebookSimulation", "CasebookPlaybooks", "CasebookAnalyzers", "CasebookCatalog", "CasebookTesting",
                "CasebookStoreTesting"
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CasebookClickHouseTests",
            dependencies: [
                "CasebookAnalysis", "CasebookClickHouse", "CasebookSQLite", "CasebookIngest", "CasebookCore",
                "CasebookSimulation", "CasebookPlaybooks", "CasebookAnalyzers", "CasebookCatalog", "CasebookTesting",
                "CasebookStoreTesting"
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "CasebookInvestigationTests",
            dependencies: [
                "CasebookAnalysis", "CasebookTesting",
                "CasebookAnalyzers", "CasebookPlaybooks", "CasebookSimulation", "CasebookIngest", "CasebookSQLite", "CasebookCore",
                "CasebookCatalog"
            ]),
        .testTarget(
            name: "CasebookReportTests",
            dependencies: [
                "CasebookAnalysis", "CasebookReport", "CasebookPlaybooks", "CasebookCore",
                "CasebookIngest", "CasebookSQLite", "CasebookAnalyzers"
            ],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "CasebookCLITests", dependencies: ["CasebookAnalysis", "CasebookCLI", "CasebookSQLite", "CasebookClickHouse"]),

        // `swift package validate-playbooks`: `casebook validate` on every playbook of a package (for CI).
        .plugin(
            name: "ValidatePlaybooks",
            capability: .command(
                intent: .custom(
                    verb: "validate-playbooks",
                    description: "Validate every Casebook playbook in the package.")),
            dependencies: ["casebook"]),
        // `swift package new-analyzer NAME --target T`: scaffolds a Swift analyzer and its test.
        .plugin(
            name: "NewAnalyzer",
            capability: .command(
                intent: .custom(verb: "new-analyzer", description: "Scaffold a Casebook analyzer and its test."),
                permissions: [.writeToPackageDirectory(reason: "Writes the new analyzer and its test into the package.")]))
    ],
    swiftLanguageModes: [.v6]
)
