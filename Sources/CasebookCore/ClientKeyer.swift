/// Turns client addresses into pseudonymous keys: HMAC-SHA256 of the address with a secret
/// salt kept by the store, truncated to 16 hex digits.
///
/// The same address always gives the same key in one store, so per-client analysis works,
/// while the address itself is never stored or printed.
public struct ClientKeyer: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    public init(salt: [UInt8]) {
        var k = salt.count > 64 ? SHA256.hash(salt) : salt
        k += [UInt8](repeating: 0, count: 64 - k.count)
        inner = SHA256(absorbing: k.map { $0 ^ 0x36 })
        outer = SHA256(absorbing: k.map { $0 ^ 0x5c })
    }

    /// A new random 32-byte salt.
    public static func randomSalt() -> [UInt8] {
        var g = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: 0...255, using: &g) }
    }

    /// The key for an address (`c-` followed by 16 hex digits).
    public func key(for address: some StringProtocol) -> String {
        var a = String(address)
        return a.withUTF8 { key(forBytes: UnsafeRawBufferPointer($0)) }
    }

    /// The key for an address given as bytes.
    public func key(forBytes address: UnsafeRawBufferPointer) -> String {
        let innerDigest = inner.finishing(with: address)
        let mac = innerDigest.withUnsafeBytes { outer.finishing(with: $0) }
        return "c-" + mac.prefix(8).hexString
    }
}
