/// Turns client addresses into pseudonymous keys: HMAC-SHA256 of the address with a secret
/// salt kept by the store, truncated to 16 hex digits.
///
/// The same address always gives the same key in one store, so per-client analysis works,
/// while the address itself is never stored or printed.
public struct ClientKeyer: Sendable {
    private let salt: [UInt8]

    public init(salt: [UInt8]) { self.salt = salt }

    /// A new random 32-byte salt.
    public static func randomSalt() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// The key for an address (`c-` followed by 16 hex digits).
    public func key(for address: some StringProtocol) -> String {
        "c-" + SHA256.hmac(key: salt, message: Array(address.utf8)).prefix(8).hexString
    }
}
