import CasebookCore
import CasebookStoreTesting
import Foundation
import Testing

@testable import CasebookPostgres

/// `casebook watch`'s registry of followed files on PostgreSQL: written with the lines in one
/// transaction, rotation and truncation handled as on the embedded store.
@Suite(.enabled(if: TestServer.shouldRun)) struct PostgresWatchTests {
    @Test func theRegistryCommitsWithTheLinesAndFollowsRotation() async throws {
        let base = try TestServer.requireURL()
        try await TestServer.withSchema(base) { schema in
            let url = TestServer.with(base, "schema=\(schema)")
            let dir = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            try await WatchRegistryContract.run(
                try PostgresEventStore(url: url), in: dir, reopen: { try PostgresEventStore(url: url) }, expect: { #expect($0, "\($1)") })
        }
    }
}
