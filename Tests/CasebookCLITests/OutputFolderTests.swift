import CasebookAnalysis
import Foundation
import Testing

@testable import CasebookCLI

/// `--out` is checked before any step runs, and Foundation errors read as sentences.
@Suite struct OutputFolderTests {
    /// A store and a playbook whose only step leaves a marker file when it runs.
    static func setUp() throws -> (dir: URL, store: String, playbook: String, marker: URL) {
        let dir = try temporaryDirectory()
        let store = dir.appendingPathComponent("s.sqlite").path
        try CLI.run(["ingest", packageRoot.appendingPathComponent("examples/logs/access.log").path, "--store", store])
        let marker = dir.appendingPathComponent("step-ran")
        try """
        import sys
        open(\(String(reflecting: marker.path)), "w").write("ran")
        sys.stdin.readline()
        print('{"type": "result", "findings": []}')
        """.write(to: dir.appendingPathComponent("mark.py"), atomically: true, encoding: .utf8)
        let playbook = dir.appendingPathComponent("p.yaml").path
        try """
        name: Marks that it ran
        steps:
          - id: mark
            uses: ./mark.py
        """.write(toFile: playbook, atomically: true, encoding: .utf8)
        return (dir, store, playbook, marker)
    }

    @Test func outIsAFileFailsBeforeAnyStepRuns() throws {
        let (dir, store, playbook, marker) = try Self.setUp()
        let file = dir.appendingPathComponent("taken")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", playbook, "--store", store, "--out", file.path, "--quiet"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("a file with that name already exists"), "\(r.stderr)")
        #expect(!r.stderr.contains("NSCocoaErrorDomain") && !r.stderr.contains("Code="))
        #expect(!FileManager.default.fileExists(atPath: marker.path), "the step must not run when the report cannot be written")
    }

    @Test func outUnderAFileFailsBeforeAnyStepRuns() throws {
        let (dir, store, playbook, marker) = try Self.setUp()
        let file = dir.appendingPathComponent("taken")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["run", playbook, "--store", store, "--out", file.appendingPathComponent("sub/report").path, "--quiet"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("is a file, not a folder"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker.path))
        // A missing parent is created.
        let ok = try CLI.run(["run", playbook, "--store", store, "--out", dir.appendingPathComponent("new/deeper").path, "--quiet"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(FileManager.default.fileExists(atPath: dir.appendingPathComponent("new/deeper/report.json").path))
    }

    @Test func reportOutIsCheckedToo() throws {
        let dir = try temporaryDirectory()
        let file = dir.appendingPathComponent("taken")
        try "x".write(to: file, atomically: true, encoding: .utf8)
        let r = try CLI.run(["report", file.path, "--out", file.path])
        #expect(r.status != 0)
        #expect(r.stderr.contains("a file with that name already exists"), "\(r.stderr)")
    }

    @Test func foundationErrorsBecomeSentences() throws {
        let exists = CocoaError(.fileWriteFileExists, userInfo: [NSFilePathErrorKey: "/tmp/out"])
        #expect(UserFacingErrors.describe(exists) == "cannot write /tmp/out: a file with that name already exists")
        #expect(UserFacingErrors.describe(POSIXError(.EACCES)) == "a file operation failed: permission denied")
        // A real error from Foundation.
        do {
            try "x".write(toFile: "/nonexistent-\(UUID().uuidString)/f", atomically: false, encoding: .utf8)
            Issue.record("writing into a missing folder should fail")
        } catch {
            let sentence = try #require(UserFacingErrors.describe(error))
            #expect(sentence.contains("no such file or folder"), "\(sentence)")
            #expect(!sentence.contains("NSCocoaErrorDomain"))
        }
        struct Other: Error {}
        #expect(UserFacingErrors.describe(Other()) == nil)
    }
}
