import CasebookCore
import Testing

@Suite struct AddressRedactorTests {
    let keyer = ClientKeyer(salt: Array(repeating: 7, count: 32))
    var redactor: AddressRedactor { AddressRedactor(keyer: keyer) }

    @Test(arguments: [
        "192.0.2.7", "0.0.0.0", "255.255.255.255", "::1", "2001:db8::7", "2001:0db8:0000:0000:0000:0000:0000:0001",
        "fe80::1", "::ffff:1.2.3.4", "64:ff9b::192.0.2.33", "2001:DB8:A::", "1::"
    ])
    func replacesEveryAddressForm(address: String) {
        for (before, after) in [("", ""), (" ", " "), ("[", "]:443"), ("\"", "\""), ("for=", ";"), ("x ", " y"), ("(", ")."), ("", "%eth0")]
        {
            let text = "\(before)\(address)\(after)"
            let out = redactor.redact(text)
            #expect(out == "\(before)\(keyer.key(for: address))\(after)", "\(text) → \(out)")
        }
    }

    @Test func portsStayAfterIPv4AndBracketedIPv6() {
        #expect(redactor.redact("192.0.2.7:8080") == keyer.key(for: "192.0.2.7") + ":8080")
        #expect(redactor.redact("[2001:db8::7]:443") == "[" + keyer.key(for: "2001:db8::7") + "]:443")
        // Unbracketed, `2001:db8::7:443` is itself one address: all of it is replaced.
        #expect(!redactor.redact("2001:db8::7:443").contains("2001"))
    }

    @Test func sameAddressSameKeySoLinesStayComparable() {
        let a = redactor.redact("bad 10.1.2.3 line")
        let b = redactor.redact("other 10.1.2.3 text")
        let key = keyer.key(for: "10.1.2.3")
        #expect(a == "bad \(key) line")
        #expect(b == "other \(key) text")
        #expect(key.hasPrefix("c-") && key.count == 18)
    }

    @Test func addressesAnywhereInALine() {
        let line =
            #" vhost.example 10.0.0.1 - - [05/Mar/2020:14:03:11 +0000] "GET /x HTTP/1.1" 200 5 "http://[2001:db8::7]:80/ref?ip=172.16.0.9" "pip/20.0 (from ::ffff:192.168.1.1)""#
        let out = redactor.redact(line)
        for a in ["10.0.0.1", "2001:db8::7", "172.16.0.9", "192.168.1.1", "::ffff"] {
            #expect(!out.contains(a), "\(out)")
        }
        #expect(out.contains("[05/Mar/2020:14:03:11 +0000]"), "a time is not an address")
        #expect(out.contains(#""GET /x HTTP/1.1" 200 5"#))
        #expect(!AddressRedactor.containsAddress(out))
    }

    @Test(arguments: [
        "pip/20.0.2", "numpy-1.18.1-cp37-cp37m-manylinux1_x86_64.whl", "version 1.2.3", "1.2.300.4", "1.2.3.4.5",
        "14:03:11", "2020:14:03:11", "cafe:babe", "deadbeef", "Foo::bar", "sha256:abcdef0123", "a.b.c.d", "10.5",
        "CPython 3.7.3", "1234.5.6.7"
    ])
    func leavesNonAddressesAlone(text: String) {
        #expect(redactor.redact(text) == text)
    }

    @Test func keepsACutLineWithoutAPieceOfAnAddress() {
        let line = String(repeating: "x", count: 8190) + " 203.0.113.77 tail"
        let kept = redactor.redactKept(line, limit: 8192)
        #expect(kept.utf8.count <= 8192)
        #expect(!kept.contains("203.0"))
        let short = redactor.redactKept("a 203.0.113.77", limit: 8192)
        #expect(short == "a \(keyer.key(for: "203.0.113.77"))")
    }
}
