import CLeadJSON

/// The known fields of a lead as the strict reader found them (simdjson, through
/// `lj_parse_lead`): types are checked there, values here.
struct WireLead {
    struct Company {
        var country: String?
        var region: String?
        var employees: Double?
    }
    struct Qualification {
        var budget: Double?
        var authority: String?
        var timeline_days: Double?
    }
    var lead_id: String?
    var company: Company?
    /// The first product that is empty once normalised (``LeadParser/normalizedProduct(_:)``):
    /// the products themselves are in ``spare``, normalised.
    var emptyProduct: Int?
    var qualification: Qualification?
    var estimated_value: Double?
    /// `company.name`, `company.domain`, `contact.email`, `source`, `received_at`,
    /// `qualification.need`, `qualification.currency` and the products, as bytes (``SpareText``).
    var spare = SpareText([], from: 0, owned: 0)

    /// Reads `bytes` strictly: the whole document must be valid JSON (RFC 8259, valid
    /// UTF-8), the known fields of the right types, no known key given twice.
    ///
    /// - Parameter padded: `bytes` has ``ByteBlock/padding`` bytes allocated after it (it is a
    ///   ``SharedBytes`` run), so the reader reads it in place instead of copying it first.
    static func read(_ bytes: UnsafeBufferPointer<UInt8>, padded: Bool = false, text: inout ByteArena) throws(LeadRejection) -> WireLead {
        let (wire, code, field, message) = scan(bytes, padded: padded, text: &text)
        switch code {
        case Int32(LJ_OK): return wire
        case Int32(LJ_INVALID_FIELD): throw LeadRejection(.invalidField, field: field.isEmpty ? nil : field, message)
        default: throw LeadRejection(.invalidJSON, message)
        }
    }

    /// Runs the reader; on failure the fields read before the problem are still filled in.
    /// `text`: where the text fields go (``spare``).
    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, padded: Bool = false, text: inout ByteArena) -> (lead: WireLead, code: Int32, field: String, message: String) {
        // The strings are read where the reader unescaped them (`out.text`), before this
        // thread parses anything else.
        // The reader's result (about 1 KB, most of it the products' spans and room for an
        // error message) is read in place: passed by value, it was copied whole, and its
        // arrays copied again to be read.
        var out = lj_lead()
        let code = lj_parse_lead(bytes.baseAddress, bytes.count, padded && ByteBlock.padding >= LJ_PADDING ? 1 : 0, &out)
        return withUnsafePointer(to: &out) { wire($0, code: code, text: &text) }
    }

    /// The fields `lj_parse_lead` found, as Swift values.
    private static func wire(_ result: UnsafePointer<lj_lead>, code: Int32, text blocks: inout ByteArena) -> (lead: WireLead, code: Int32, field: String, message: String) {
        func at<T>(_ field: PartialKeyPath<lj_lead>, as type: T.Type) -> UnsafePointer<T> {
            (UnsafeRawPointer(result) + MemoryLayout<lj_lead>.offset(of: field)!).assumingMemoryBound(to: T.self)
        }
        let scratch = UnsafeRawPointer(result.pointee.text).map { $0.assumingMemoryBound(to: UInt8.self) }
        func text(_ span: lj_span) -> String? {
            guard span.start >= 0, let scratch else { return nil }
            let start = scratch + Int(span.start)
            return String(decoding: UnsafeBufferPointer(start: start, count: Int(span.length)), as: UTF8.self)
        }
        // Made from its parts at the end: filled in field by field, the value was copied
        // out whole when returned (a retain and a release of each of its references).
        /// A field whose usual values are known strings (a country's two capitals, an
        /// authority), taken from those instead of made from its bytes.
        func known(_ span: lj_span, _ lookUp: (UnsafeBufferPointer<UInt8>) -> String?) -> String? {
            guard span.start >= 0, let scratch else { return nil }
            return lookUp(UnsafeBufferPointer(start: scratch + Int(span.start), count: Int(span.length))) ?? text(span)
        }
        let company = result.pointee.has_company == 0 ? nil
            : Company(country: known(result.pointee.country, ISOCountry.twoLetters), region: text(result.pointee.region),
                      employees: result.pointee.has_employees != 0 ? result.pointee.employees : nil)
        // In ``SpareText``'s slot order, on the stack (an array literal would be allocated).
        let productSpans = UnsafeBufferPointer(start: at(\lj_lead.products, as: lj_span.self),
                                               count: result.pointee.has_products != 0 ? Int(result.pointee.product_count) : 0)
        let (spare, emptyProduct) = withUnsafeTemporaryAllocation(of: lj_span.self, capacity: 7) { spans in
            spans[SpareText.companyName] = result.pointee.company_name
            spans[SpareText.companyDomain] = result.pointee.company_domain
            spans[SpareText.contactEmail] = result.pointee.contact_email
            spans[SpareText.source] = result.pointee.source
            spans[SpareText.receivedAt] = result.pointee.received_at
            spans[SpareText.need] = result.pointee.need
            spans[SpareText.currency] = result.pointee.currency
            return WireLead.spare(UnsafeBufferPointer(spans), products: productSpans, text: scratch, into: &blocks)
        }
        let qualification = result.pointee.has_qualification == 0 ? nil
            : Qualification(budget: result.pointee.has_budget != 0 ? result.pointee.budget : nil,
                            authority: known(result.pointee.authority, LeadFacts.Authority.text),
                            timeline_days: result.pointee.has_timeline_days != 0 ? result.pointee.timeline_days : nil)
        let wire = WireLead(lead_id: text(result.pointee.lead_id), company: company, emptyProduct: emptyProduct, qualification: qualification,
                            estimated_value: result.pointee.has_estimated_value != 0 ? result.pointee.estimated_value : nil, spare: spare)
        guard code != Int32(LJ_OK) else { return (wire, code, "", "") }
        let field = String(cString: at(\lj_lead.error_field, as: CChar.self))
        let message = String(cString: at(\lj_lead.error_message, as: CChar.self))
        return (wire, code, field, message)
    }

    /// The text of `spans` (``SpareText``'s slots, in order) and the products of
    /// `products`, normalised, copied from `text` into one buffer; and the first product
    /// normalised to nothing.
    private static func spare(_ spans: UnsafeBufferPointer<lj_span>, products: UnsafeBufferPointer<lj_span>,
                              text: UnsafePointer<UInt8>?, into blocks: inout ByteArena) -> (SpareText, emptyProduct: Int?) {
        var starts = SIMD8<Int32>.zero, lengths = SIMD8<Int32>(repeating: -1)
        var total = 0
        for (slot, span) in spans.enumerated() where span.start >= 0 {
            starts[slot] = Int32(total)
            lengths[slot] = span.length
            total += Int(span.length)
        }
        // Room for the products: an ASCII product normalises to no more bytes than it has;
        // another is measured as normalised (rarely: through a `String`).
        var productRoom = 0
        // The products that are not ASCII, one bit each (at most `LJ_MAX_PRODUCTS`, 64).
        var nonASCII: UInt64 = 0
        if let source = text {
            for (i, span) in products.enumerated() where span.start >= 0 {
                let start = source + Int(span.start), count = Int(span.length)
                if isASCII(start, count) {
                    productRoom += 4 + count
                } else {
                    nonASCII |= 1 << UInt64(i & 63)
                    productRoom += 4 + withNormalizedProduct(start, count) { $0.count }
                }
            }
        }
        let textBytes = total
        total += productRoom
        let owned = SpareText.factSlots | SpareText.qualificationSlots
        // Written into the reader's block in one pass (appended to an array, each slot cost a
        // capacity and uniqueness check and the generic append's set-up; an array of its own
        // was an allocation a lead); no text, no bytes at all.
        guard let source = text, total > 0 else {
            return (SpareText(bytes: .empty, starts: starts, lengths: lengths, owned: owned), nil)
        }
        var emptyProduct: Int?
        let bytes = blocks.write(maximum: total) { buffer in
            var at = 0
            for span in spans where span.start >= 0 {
                // Short, most of them: copied with no call (``JSONWriter/copy(_:to:count:)``).
                JSONWriter.copy(source + Int(span.start), to: buffer + at, count: Int(span.length))
                at += Int(span.length)
            }
            for (i, span) in products.enumerated() where span.start >= 0 {
                let start = source + Int(span.start), count = Int(span.length)
                let written: Int
                if nonASCII & (1 << UInt64(i & 63)) == 0 {
                    // ASCII: trimmed and lower-cased as it is copied, in one pass.
                    written = normalizeASCII(start, count, into: buffer + at + 4)
                } else {
                    written = withNormalizedProduct(start, count) { product in
                        if let base = product.baseAddress { (buffer + at + 4).update(from: base, count: product.count) }
                        return product.count
                    }
                }
                if written == 0 && emptyProduct == nil { emptyProduct = i }
                withUnsafeBytes(of: UInt32(written).littleEndian) { length in
                    UnsafeMutableRawPointer(buffer + at).copyMemory(from: length.baseAddress!, byteCount: 4)
                }
                at += 4 + written
            }
            return at
        }
        if bytes.count > textBytes {
            starts[SpareText.products] = Int32(textBytes)
            lengths[SpareText.products] = Int32(bytes.count - textBytes)
        }
        return (SpareText(bytes: bytes, starts: starts, lengths: lengths, owned: owned), emptyProduct)
    }

    /// Whether `count` bytes from `start` are all ASCII.
    @inline(__always)
    private static func isASCII(_ start: UnsafePointer<UInt8>, _ count: Int) -> Bool {
        var i = 0
        while i < count {
            if start[i] >= 0x80 { return false }
            i += 1
        }
        return true
    }

    /// An ASCII product's bytes normalised (``LeadParser/normalizedProduct(_:)``: without the
    /// spaces and tabs around them, lower case) into `out`; returns how many. (Through
    /// ``withNormalizedProduct(_:_:_:)``, a product was scanned for upper case, lower-cased on
    /// the stack and then copied.)
    @inline(__always)
    private static func normalizeASCII(_ start: UnsafePointer<UInt8>, _ count: Int, into out: UnsafeMutablePointer<UInt8>) -> Int {
        var first = 0, end = count
        while first < end && (start[first] == 0x20 || start[first] == 0x09) { first += 1 }
        while end > first && (start[end - 1] == 0x20 || start[end - 1] == 0x09) { end -= 1 }
        var j = 0
        while first + j < end {
            let b = start[first + j]
            out[j] = b &- 0x41 < 26 ? b | 0x20 : b
            j += 1
        }
        return j
    }

    /// Calls `body` with a product's UTF-8 normalised (``LeadParser/normalizedProduct(_:)``):
    /// for ASCII, its bytes without the spaces and tabs around them, lower-cased in a buffer
    /// on the stack; otherwise through a `String`.
    private static func withNormalizedProduct<R>(_ start: UnsafePointer<UInt8>, _ count: Int,
                                                 _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        // Index loops over the pointer: no iterator or slice, which an unoptimised build
        // allocates for.
        guard isASCII(start, count) else {
            var normalized = LeadParser.normalizedProduct(String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self))
            return normalized.withUTF8(body)
        }
        var first = 0, end = count, upper = false, i = 0
        while first < end && (start[first] == 0x20 || start[first] == 0x09) { first += 1 }
        while end > first && (start[end - 1] == 0x20 || start[end - 1] == 0x09) { end -= 1 }
        i = first
        while i < end && !upper {
            upper = start[i] >= 0x41 && start[i] <= 0x5A
            i += 1
        }
        guard upper else { return body(UnsafeBufferPointer(start: start + first, count: end - first)) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: end - first) { lower in
            for j in 0..<(end - first) {
                let b = start[first + j]
                lower[j] = b >= 0x41 && b <= 0x5A ? b + 0x20 : b
            }
            return body(UnsafeBufferPointer(lower))
        }
    }
}
