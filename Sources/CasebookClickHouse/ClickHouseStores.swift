import CasebookCore

/// Opening ClickHouse stores from a `--store` location (see ``ClickHouseURL`` for the options).
public enum ClickHouseStores {
    /// Whether `location` names a ClickHouse store (`clickhouse://`).
    public static func isURL(_ location: String) -> Bool { ClickHouseURL.isClickHouseURL(location) }

    /// Opens an existing store for aggregate queries; fails when the database holds none.
    public static func openRead(_ location: String) throws -> ClickHouseEventStore {
        try ClickHouseEventStore.openExisting(url: ClickHouseURL(location))
    }

    /// Opens (creating the database and Casebook's tables when missing) a store that takes ingests.
    public static func openWritable(_ location: String) throws -> ClickHouseEventStore {
        try ClickHouseEventStore(url: ClickHouseURL(location))
    }

    /// The location as it may be shown: the redacted URL, or the text with every credential
    /// removed when it does not parse.
    public static func display(_ location: String) -> String {
        (try? ClickHouseURL(location, environment: [:]).redacted) ?? CredentialRedaction.redact(location)
    }
}
