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
    static func read(_ bytes: [UInt8]) -> Result<WireLead, LeadRejection> {
        let (wire, code, field, message) = scan(bytes)
        switch code {
        case Int32(LJ_OK): return .success(wire)
        case Int32(LJ_INVALID_FIELD): return .failure(LeadRejection(.invalidField, field: field.isEmpty ? nil : field, message))
        default: return .failure(LeadRejection(.invalidJSON, message))
        }
    }

    /// Runs the reader; on failure the fields read before the problem are still filled in.
    static func scan(_ bytes: [UInt8]) -> (lead: WireLead, code: Int32, field: String, message: String) {
        // The strings are read where the reader unescaped them (`out.text`), before this
        // thread parses anything else.
        // The reader's result (about 1 KB, most of it the products' spans and room for an
        // error message) is read in place: passed by value, it was copied whole, and its
        // arrays copied again to be read.
        var out = lj_lead()
        let code = bytes.withUnsafeBufferPointer { input in lj_parse_lead(input.baseAddress, input.count, &out) }
        return withUnsafePointer(to: &out) { wire($0, code: code) }
    }

    /// The fields `lj_parse_lead` found, as Swift values.
    private static func wire(_ result: UnsafePointer<lj_lead>, code: Int32) -> (lead: WireLead, code: Int32, field: String, message: String) {
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
        let company = result.pointee.has_company == 0 ? nil
            : Company(country: text(result.pointee.country), region: text(result.pointee.region), employees: result.pointee.has_employees != 0 ? result.pointee.employees : nil)
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
            return WireLead.spare(UnsafeBufferPointer(spans), products: productSpans, text: scratch)
        }
        let qualification = result.pointee.has_qualification == 0 ? nil
            : Qualification(budget: result.pointee.has_budget != 0 ? result.pointee.budget : nil, authority: text(result.pointee.authority),
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
                              text: UnsafePointer<UInt8>?) -> (SpareText, emptyProduct: Int?) {
        var starts = SIMD8<Int32>.zero, lengths = SIMD8<Int32>(repeating: -1)
        var total = 0
        for (slot, span) in spans.enumerated() where span.start >= 0 {
            starts[slot] = Int32(total)
            lengths[slot] = span.length
            total += Int(span.length)
        }
        var emptyProduct: Int?
        var productBytes = 0
        if let source = text {
            for (i, span) in products.enumerated() where span.start >= 0 {
                let length = withNormalizedProduct(source + Int(span.start), Int(span.length)) { $0.count }
                if length == 0 && emptyProduct == nil { emptyProduct = i }
                productBytes += 4 + length
            }
        }
        if productBytes > 0 {
            starts[SpareText.products] = Int32(total)
            lengths[SpareText.products] = Int32(productBytes)
            total += productBytes
        }
        let owned = SpareText.factSlots | SpareText.qualificationSlots
        // Written into the array's storage in one pass (appended, each slot cost a capacity
        // and uniqueness check and the generic append's set-up); no text, no storage at all.
        guard let source = text, total > 0 else {
            return (SpareText(bytes: [], starts: starts, lengths: lengths, owned: owned), emptyProduct)
        }
        let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, written in
            var at = 0
            for span in spans where span.start >= 0 {
                (buffer.baseAddress! + at).initialize(from: source + Int(span.start), count: Int(span.length))
                at += Int(span.length)
            }
            for span in products where span.start >= 0 {
                withNormalizedProduct(source + Int(span.start), Int(span.length)) { product in
                    withUnsafeBytes(of: UInt32(product.count).littleEndian) { length in
                        UnsafeMutableRawPointer(buffer.baseAddress! + at).copyMemory(from: length.baseAddress!, byteCount: 4)
                    }
                    if let base = product.baseAddress { (buffer.baseAddress! + at + 4).initialize(from: base, count: product.count) }
                    at += 4 + product.count
                }
            }
            written = at
        }
        return (SpareText(bytes: bytes, starts: starts, lengths: lengths, owned: owned), emptyProduct)
    }

    /// Calls `body` with a product's UTF-8 normalised (``LeadParser/normalizedProduct(_:)``):
    /// for ASCII, its bytes without the spaces and tabs around them, lower-cased in a buffer
    /// on the stack; otherwise through a `String`.
    private static func withNormalizedProduct<R>(_ start: UnsafePointer<UInt8>, _ count: Int,
                                                 _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        let all = UnsafeBufferPointer(start: start, count: count)
        var first = 0, end = count, upper = false
        for b in all where b >= 0x80 {
            var normalized = LeadParser.normalizedProduct(String(decoding: all, as: UTF8.self))
            return normalized.withUTF8(body)
        }
        while first < end && (all[first] == 0x20 || all[first] == 0x09) { first += 1 }
        while end > first && (all[end - 1] == 0x20 || all[end - 1] == 0x09) { end -= 1 }
        for b in all[first..<end] where b >= 0x41 && b <= 0x5A { upper = true }
        let trimmed = UnsafeBufferPointer(rebasing: all[first..<end])
        guard upper else { return body(trimmed) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: trimmed.count) { lower in
            for (i, b) in trimmed.enumerated() { lower[i] = b >= 0x41 && b <= 0x5A ? b + 0x20 : b }
            return body(UnsafeBufferPointer(lower))
        }
    }
}
