import CasebookCore

/// Opening ClickHouse stores from a `--store` location (see ``ClickHouseURL`` for the options).
public enum ClickHouseStores {
    /// Whether `location` names a ClickHouse store (`clickhouse://`).
    public static func isURL(_ location: String) -> Bool { ClickHouseURL.isClickHouseURL(location) }

    /// Opens a store for aggregate queries: Casebook's tables (which must exist), or ClickPy's
    /// downloads table with `layout=clickpy` (read-only, see ``ClickPyEventStore``).
    public static func openRead(_ location: String) throws -> any EventStore {
        let url = try ClickHouseURL(location)
        switch url.layout {
        case .casebook: return try ClickHouseEventStore.openExisting(url: url)
        case .clickpy: return try ClickPyEventStore(url: url)
        }
    }

    /// Opens (creating the database and Casebook's tables when missing) a store that takes
    /// ingests. `layout=clickpy` is refused (``ClickHouseStoreError/readOnly(_:layout:)``):
    /// Casebook never writes to a table it did not create.
    public static func openWritable(_ location: String) throws -> ClickHouseEventStore {
        try ClickHouseEventStore(url: ClickHouseURL(location))
    }

    /// The location as it may be shown: the redacted URL, or the text with every credential
    /// removed when it does not parse.
    public static func display(_ location: String) -> String {
        (try? ClickHouseURL(location, environment: [:]).redacted) ?? CredentialRedaction.redact(location)
    }
}
