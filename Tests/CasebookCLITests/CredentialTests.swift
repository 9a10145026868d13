import CasebookAnalysis
import CasebookCore
import Foundation
import Testing

/// No password given in a store location is ever printed or recorded, whatever its form.
@Suite struct CredentialTests {
    /// Locations with a secret, and the forms of it that must never appear.
    static let locations: [(String, [String])] = [
        ("postgres://u:hunter2@127.0.0.1:1/db", ["hunter2"]),
        ("postgres://u@127.0.0.1:1/db?password=hunter2", ["hunter2"]),
        ("postgresql://u@127.0.0.1:1/db?sslmode=disable&password=hunter2&connect_timeout=3", ["hunter2"]),
        ("postgres://u@127.0.0.1:1/db?pass%77ord=hunter2", ["hunter2"]),
        ("postgres://u:%68unter2%21@127.0.0.1:1/db", ["hunter2", "%68unter2"]),
        ("postgres://u@127.0.0.1:1/db?sslpassword=hunter2&sslmode=require", ["hunter2"]),
        ("postgres://u@127.0.0.1:1/db?password=hunter2&bogus=1", ["hunter2"]),
        ("postgres://u:hunter2@127.0.0.1:99999/db", ["hunter2"]),
        ("postgres://u:hun@ter2@127.0.0.1:1/db", ["hun@ter2", "ter2"]),
        ("postgres:/u:hunter2@127.0.0.1:1/db", ["hunter2"])
    ]

    @Test func noCommandEchoesAPassword() throws {
        let dir = try temporaryDirectory()
        let log = packageRoot.appendingPathComponent("examples/logs/access.log").path
        let playbook = packageRoot.appendingPathComponent("playbooks/outage.yaml").path
        for (location, secrets) in Self.locations {
            let runs: [[String]] = [
                ["info", "--store", location],
                ["query", "--by", "day", "--store", location],
                ["ingest", log, "--store", location],
                ["run", playbook, "--store", location, "--out", dir.appendingPathComponent("out").path, "--quiet"],
                ["query", "--by", "day", "--stor", location]  // an argument error quotes the arguments
            ]
            for args in runs {
                let r = try CLI.run(args, directory: dir)
                #expect(r.status != 0, "\(args)")
                #expect(!r.stderr.isEmpty, "\(args): a failure says why")
                for s in secrets {
                    #expect(!r.stdout.contains(s) && !r.stderr.contains(s), "\(args) printed `\(s)`: \(r.stderr)")
                }
            }
            let env = try CLI.run(["info"], directory: dir, environment: ["CASEBOOK_STORE": location])
            for s in secrets { #expect(!env.stderr.contains(s), "CASEBOOK_STORE=\(location): \(env.stderr)") }
        }
    }

    @Test func redactionOfEveryForm() {
        let cases: [(String, String)] = [
            ("postgres://u:hunter2@h/db", "postgres://u:***@h/db"),
            ("postgres://u@h/db?password=hunter2", "postgres://u@h/db?password=***"),
            (
                "postgres://u@h/db?sslmode=require&sslpassword=x%20y&passfile=/p",
                "postgres://u@h/db?sslmode=require&sslpassword=***&passfile=***"
            ),
            ("postgres://u@h/db?PASS%57ORD=a", "postgres://u@h/db?PASS%57ORD=***"),
            ("host=h password=hunter2 dbname=d", "host=h password=*** dbname=d"),
            ("mysql://root:toor@db/x", "mysql://root:***@db/x"),
            ("cannot open store postgres://u:p@ss@h/db: refused", "cannot open store postgres://u:***@h/db: refused"),
            ("/tmp/store.sqlite", "/tmp/store.sqlite"),
            ("postgres://u@h:5432/db?layout=piwheels", "postgres://u@h:5432/db?layout=piwheels")
        ]
        for (input, expected) in cases { #expect(CredentialRedaction.redact(input) == expected, "\(input)") }
        #expect(Set(CredentialRedaction.secrets(in: "postgres://u:%68unter2@h/db")) == ["%68unter2", "hunter2"])
    }

    @Test func reportRecordsNoCredential() throws {
        // A SQLite store whose path looks like a credential is recorded redacted too.
        let dir = try temporaryDirectory()
        let sub = dir.appendingPathComponent("token=hunter2")
        try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
        let store = sub.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let out = dir.appendingPathComponent("out")
        let r = try CLI.run(
            [
                "run", packageRoot.appendingPathComponent("playbooks/outage.yaml").path, "--store", store,
                "--out", out.path, "--quiet"
            ], directory: dir)
        let report = (try? String(contentsOf: out.appendingPathComponent("report.json"), encoding: .utf8)) ?? ""
        #expect(r.status == 0, "\(r.stderr)")
        #expect(report.contains("token=***"), "the store is recorded, redacted")
        #expect(!report.contains("hunter2"))
        #expect(!r.stdout.contains("hunter2") && !r.stderr.contains("hunter2"))
    }
}
