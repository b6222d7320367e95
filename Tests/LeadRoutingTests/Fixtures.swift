import LeadRouting

/// A valid lead as JSON text, with fields replaced or removed as a test needs.
func leadJSON(
    id: String = "web-2026-000123",
    country: String = "US",
    region: String? = "CO",
    products: [String] = ["email-security"],
    extra: String = ""
) -> String {
    let regionField = region.map { ", \"region\": \"\($0)\"" } ?? ""
    let productList = products.map { "\"\($0)\"" }.joined(separator: ", ")
    return """
        {"lead_id": "\(id)", "source": "webform", "kind": "lead", "received_at": "2026-11-22T10:00:00Z", \
        "company": {"name": "Acme Corp", "domain": "acme.example", "country": "\(country)"\(regionField), "postal_code": "80112", "employees": 250}, \
        "contact": {"name": "Dana Reyes", "email": "dana@acme.example", "title": "CIO"}, \
        "products": [\(productList)], \
        "qualification": {"need": "phishing incidents", "budget": 50000, "currency": "USD", "authority": "decision_maker", "timeline_days": 90}, \
        "estimated_value": 50000\(extra)}
        """
}

func facts(country: String = "US", region: String? = "CO", products: [String] = ["email-security"], id: String = "l-1") -> LeadFacts {
    LeadFacts(leadID: id, companyName: "Acme Corp", country: country, region: region, products: products)
}

func partner(
    _ id: String, _ engagement: EngagementModel = .leadsOnly, territories: [Territory] = [],
    products: [String] = [], weight: Int = 1, active: Bool = true
) -> Partner {
    Partner(id: id, engagement: engagement, territories: territories, products: products, weight: weight, active: active)
}

extension Array where Element == UInt8 {
    var text: String { String(decoding: self, as: UTF8.self) }
}

extension SharedBytes {
    var text: String { String(decoding: self, as: UTF8.self) }
}
