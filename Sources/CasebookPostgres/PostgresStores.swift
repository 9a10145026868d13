import CasebookCore

/// Opening PostgreSQL stores from a `--store` location (see ``PostgresURL`` for the options).
public enum PostgresStores {
    /// Whether `location` names a PostgreSQL store (`postgres://` or `postgresql://`).
    public static func isURL(_ location: String) -> Bool { PostgresURL.isPostgresURL(location) }

    /// Opens a store for aggregate queries: Casebook's schema (which must exist), or a
    /// piwheels-style table with `layout=piwheels`.
    public static func openRead(_ location: String) throws -> any EventStore {
        let url = try PostgresURL(location)
        switch url.layout {
        case .casebook: return try PostgresEventStore.openExisting(url: url)
        case .piwheels: return try PiwheelsEventStore(url: url)
        }
    }

    /// Opens (creating or migrating Casebook's schema) a store that takes ingests. The piwheels
    /// layout is refused: Casebook never writes to a database it did not create.
    public static func openWritable(_ location: String) throws -> PostgresEventStore {
        try PostgresEventStore(url: PostgresURL(location))
    }
}
