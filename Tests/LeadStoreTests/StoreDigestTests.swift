@testable import LeadStore
import Testing

/// The store keeps digests on disk (an account owner's bucket, a partner list's digest): a
/// faster way of computing them must give the same numbers.
@Suite("Stored digests")
struct StoreDigestTests {
    @Test("FNV-1a 64 of the key's UTF-8 bytes: the published test vectors, and any text against a byte-by-byte reference")
    func fnv1a() {
        #expect(UInt64(bitPattern: LeadStore.digest("")) == 0xcbf2_9ce4_8422_2325)
        #expect(UInt64(bitPattern: LeadStore.digest("a")) == 0xaf63_dc4c_8601_ec8c)
        #expect(UInt64(bitPattern: LeadStore.digest("foobar")) == 0x8594_4171_f739_67e8)
        for text in ["d:acme.example", "n:ünïcode quoted", "n:" + String(repeating: "x", count: 300), "caf\u{E9}", "cafe\u{301}"] {
            var reference: UInt64 = 0xcbf2_9ce4_8422_2325
            for byte in text.utf8 {
                reference ^= UInt64(byte)
                reference &*= 0x100_0000_01b3
            }
            #expect(UInt64(bitPattern: LeadStore.digest(text)) == reference, "\(text)")
        }
        // A bucket is the digest's top bits, mixed: pinned, since the table is keyed by it.
        // (Values computed independently, in Python, from the definition.)
        #expect(LeadStore.ownerBucket("d:acme.example") == 3076)
        #expect(LeadStore.ownerBucket("n:acme") == 2623)
    }
}
