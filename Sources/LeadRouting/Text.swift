/// Text of a few parts made in one allocation: string interpolation sizes its buffer from a
/// guess and often grows it once more, which the routing of every lead paid for its reasons.
enum Text {
    static func join(_ a: String, _ b: String, _ c: String = "", _ d: String = "", _ e: String = "",
                     _ f: String = "", _ g: String = "") -> String {
        var parts = (a, b, c, d, e, f, g)
        let count = parts.0.utf8.count + parts.1.utf8.count + parts.2.utf8.count + parts.3.utf8.count + parts.4.utf8.count
            + parts.5.utf8.count + parts.6.utf8.count
        return String(unsafeUninitializedCapacity: count) { out in
            var at = 0
            func copy(_ part: inout String) {
                part.withUTF8 { bytes in
                    guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
                    UnsafeMutableRawPointer(out.baseAddress! + at).copyMemory(from: source, byteCount: bytes.count)
                    at += bytes.count
                }
            }
            copy(&parts.0)
            copy(&parts.1)
            copy(&parts.2)
            copy(&parts.3)
            copy(&parts.4)
            copy(&parts.5)
            copy(&parts.6)
            return at
        }
    }
}
