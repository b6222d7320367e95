import LeadRouting
import Testing

// The routing keys of the config: qualification, a partner's min_grade, capacity,
// paused_until and accounts, and registrations. Their problems are in
// RoutingConfigProblemTests.swift.

// MARK: - Every key is read

@Test func everyRoutingKeyIsRead() throws {
    let yaml = """
        qualification:
          weights: {need: 30, budget: 0, authority: 15, timeline: 25, company_size: 5, estimated_value: 1000}
          grades: {A: 90, B: 60, C: 10}
          timeline_days: 30
          full_employees: 10_000_000
          full_value: 2.5e4
        partners:
          - id: rocky-mountain-it
            engagement: leads_only
            min_grade: B
            capacity: {max: 50, per: 7d}
            paused_until: 2026-12-01T00:00:00Z
            accounts: [acme.example, "  Globex Corporation ", WWW.Initech.Example., Acme]
          - id: atlantic
            engagement: co_sell
            min_grade: D
            capacity:
              max: 1000000
              per: 366d
        registrations:
          - partner: rocky-mountain-it
            domain: acme.example
            expires: 2027-03-01T00:00:00Z
          - partner: atlantic
            domain: WWW.Globex.Example.
            expires: "2026-11-22T10:00:00-05:30"
        """
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.qualification == QualificationConfig(
        needWeight: 30, budgetWeight: 0, authorityWeight: 15, timelineWeight: 25, companySizeWeight: 5,
        estimatedValueWeight: 1000, gradeA: 90, gradeB: 60, gradeC: 10, timelineDays: 30,
        fullEmployees: 10_000_000, fullValue: 25_000
    ))
    #expect(config.partners == [
        Partner(
            id: "rocky-mountain-it", engagement: .leadsOnly, minGrade: .B,
            capacity: Capacity(max: 50, perSeconds: 604_800, perText: "7d"),
            pausedUntil: ms20261201,
            accounts: ["acme.example", "Globex Corporation", "WWW.Initech.Example.", "Acme"]
        ),
        Partner(
            id: "atlantic", engagement: .coSell, minGrade: .D,
            capacity: Capacity(max: 1_000_000, perSeconds: 366 * 86_400, perText: "366d")
        ),
    ])
    #expect(config.partners.first?.capacity?.perSeconds == 604_800)
    #expect(config.registrations == [
        Registration(partnerID: "rocky-mountain-it", domain: "acme.example", expires: 1_803_859_200_000),
        Registration(partnerID: "atlantic", domain: "globex.example", expires: 1_795_361_400_000),
    ])
    #expect(config.registrations.last?.domain == "globex.example")
}

@Test func routingKeysTakeTheirDefaultsWhenAbsent() throws {
    let config = try ConfigLoader.load(yaml: partnerHead)
    #expect(config.qualification == QualificationConfig())
    #expect(config.registrations.isEmpty)
    let partner = try #require(config.partners.first)
    #expect(partner.minGrade == nil)
    #expect(partner.capacity == nil)
    #expect(partner.pausedUntil == nil)
    #expect(partner.accounts.isEmpty)

    let empty = try ConfigLoader.load(yaml: partnerHead + "    accounts: []\nregistrations: []\nqualification: {}\n")
    #expect(empty == config)
}

@Test func absentQualificationKeysKeepTheirDefaults() throws {
    let yaml = """
        qualification:
          weights: {need: 0, estimated_value: 40}
          grades:
            B: 40
          timeline_days: 1
        """
    let q = try ConfigLoader.load(yaml: yaml).qualification
    #expect(q == QualificationConfig(
        needWeight: 0, budgetWeight: 20, authorityWeight: 20, timelineWeight: 20, companySizeWeight: 10,
        estimatedValueWeight: 40, gradeA: 75, gradeB: 40, gradeC: 25, timelineDays: 1, fullEmployees: 500,
        fullValue: 50_000
    ))
}

@Test(arguments: [
    ("50000", 50_000.0), ("1", 1.0), ("0.5", 0.5), ("2.5e4", 25_000.0), ("1_000.5", 1000.5),
    ("1000000000000", 1e12), ("1e12", 1e12),
])
func fullValueIsAnIntegerOrAFloat(text: String, value: Double) throws {
    let config = try ConfigLoader.load(yaml: "qualification:\n  full_value: \(text)\n")
    #expect(config.qualification.fullValue == value)
}

@Test func limitsOfTheQualificationIntegersLoad() throws {
    let yaml = """
        qualification:
          weights: {need: 1000, budget: 0, authority: 0, timeline: 0, company_size: 0, estimated_value: 0}
          grades: {A: 100, B: 1, C: 0}
          timeline_days: 3650
          full_employees: 1
        """
    let q = try ConfigLoader.load(yaml: yaml).qualification
    #expect(q.needWeight == 1000)
    #expect(q.budgetWeight == 0)
    #expect([q.gradeA, q.gradeB, q.gradeC] == [100, 1, 0])
    #expect(q.timelineDays == 3650)
    #expect(q.fullEmployees == 1)
}

@Test(arguments: [
    ("A", Grade.A), ("B", .B), ("C", .C), ("D", .D),
])
func minGradeLoads(text: String, grade: Grade) throws {
    let config = try ConfigLoader.load(yaml: partner("min_grade: \(text)"))
    #expect(config.partners.first?.minGrade == grade)
}

// MARK: - Capacity windows

@Test(arguments: [
    ("30m", Int64(1800)), ("1m", 60), ("12h", 43_200), ("7d", 604_800), ("2w", 1_209_600),
    ("366d", 31_622_400), ("8784h", 31_622_400), ("52w", 31_449_600), ("07d", 604_800),
])
func capacityWindowsLoadInSeconds(text: String, seconds: Int64) throws {
    let config = try ConfigLoader.load(yaml: partner("capacity: {max: 3, per: \(text)}"))
    #expect(config.partners.first?.capacity == Capacity(max: 3, perSeconds: seconds, perText: text))
}

// MARK: - Timestamps

private let timestampCases: [(text: String, milliseconds: Int64)] = [
    ("2026-12-01T00:00:00Z", ms20261201),
    ("\"2026-12-01T00:00:00Z\"", ms20261201),
    ("2026-12-01t00:00:00z", ms20261201),
    ("2026-12-01T00:00:00-00:00", ms20261201),
    ("2026-12-01T02:00:00+02:00", ms20261201),
    ("2026-12-01T00:00:00+02:00", ms20261201 - 7_200_000),
    ("2026-11-30T18:30:00-05:30", ms20261201),
    ("2026-12-01T00:00:00.5Z", ms20261201 + 500),
    ("2026-12-01T00:00:00.123456Z", ms20261201 + 123),
    ("2026-12-01T00:00:00.07Z", ms20261201 + 70),
    ("2026-12-01T00:00:00.250+02:00", ms20261201 - 7_200_000 + 250),
    ("2024-02-29T23:59:59Z", 1_709_251_199_000),
    ("1970-01-01T00:00:00Z", 0),
    ("1969-12-31T23:59:59.500Z", -500),
    ("2000-03-01T00:00:00+23:59", 951_868_800_000 - 86_340_000),
    // A leap second is taken as :59 (milliseconds since 1970 have none).
    ("2016-12-31T23:59:60Z", 1_483_228_799_000),
    ("2016-12-31T23:59:60.250Z", 1_483_228_799_250),
]

@Test(arguments: timestampCases)
func pausedUntilIsRFC3339InMilliseconds(text: String, milliseconds: Int64) throws {
    let config = try ConfigLoader.load(yaml: partner("paused_until: \(text)"))
    #expect(config.partners.first?.pausedUntil == milliseconds)
}

/// Timestamps the loader must refuse.
private let badTimestamps = [
    "tomorrow", "2026-13-01T00:00:00Z", "2026-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-12-01T00:00:00",
    "2026-12-01", "2026-12-01 00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T00:60:00Z", "2026-12-31T23:59:61Z",
    "2026-12-01T00:00:00+2", "2026-12-01T00:00:00+24:00", "2026-12-01T00:00:00+02:60", "2026-12-01T00:00:00.Z",
    "2026-1-01T00:00:00Z", "2026-12-01T00:00:00Z!", "2026-12-01T00:00:00+0200", "2026-00-01T00:00:00Z",
    "2026-12-00T00:00:00Z", "", "2026-12-01T00:00:00ZZ", "+2026-12-01T00:00:00Z",
]

/// The loader's parser and ``Timestamp/milliseconds(rfc3339:)`` (used at run time, such
/// as by `leadctl register`) accept the same timestamps, with the same value.
@Test func theLoaderAndTimestampAgreeOnRFC3339() {
    for (text, milliseconds) in timestampCases where !text.hasPrefix("\"") {
        #expect(Timestamp.milliseconds(rfc3339: text) == milliseconds, "\(text)")
    }
    for text in badTimestamps {
        #expect(Timestamp.milliseconds(rfc3339: text) == nil, "\(text)")
        #expect(!problems(partner("paused_until: \"\(text)\"")).isEmpty, "\(text)")
    }
}

// MARK: - Accounts

@Test func accountsAreTrimmedAndKeptAsWritten() throws {
    let yaml = partnerHead + """
            accounts:
              - " acme.example "
              - Acme Corp
              - WWW.Globex.Example.
              - "Initech, Inc."
        """
    let config = try ConfigLoader.load(yaml: yaml)
    // The domain acme.example and the name Acme are different keys: both may be listed.
    #expect(config.partners.first?.accounts == ["acme.example", "Acme Corp", "WWW.Globex.Example.", "Initech, Inc."])
}

// MARK: - Registrations

@Test func registrationsMayComeBeforePartners() throws {
    let yaml = """
        registrations:
          - {partner: acme, domain: www.acme.example, expires: 2026-12-01T00:00:00Z}
        """ + "\n" + partnerHead
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.registrations == [Registration(partnerID: "acme", domain: "acme.example", expires: ms20261201)])
}

@Test func registrationDomainsAreNormalised() throws {
    let yaml = partnerHead + """
        registrations:
          - {partner: acme, domain: " WWW.Acme.Example. ", expires: 2026-12-01T00:00:00Z}
          - {partner: acme, domain: Bücher.Example, expires: 2026-12-01T00:00:00Z}
          - {partner: acme, domain: xn--bcher-kva.example, expires: 2026-12-01T00:00:00Z}
        """
    let config = try ConfigLoader.load(yaml: yaml)
    #expect(config.registrations.map(\.domain) == ["acme.example", "bücher.example", "xn--bcher-kva.example"])
}

@Test func aRegistrationForAnInvalidPartnerReportsOnlyThePartner() {
    // The partner is declared, so the registration is not also "unknown".
    let yaml = """
        partners:
          - id: acme
            engagement: leads_only
            weight: 0
          - id: Bad
            engagement: co_sell
        registrations:
          - {partner: acme, domain: acme.example, expires: 2027-03-01T00:00:00Z}
          - {partner: Bad, domain: bad.example, expires: 2027-03-01T00:00:00Z}
        """
    let found = problems(yaml)
    #expect(found.map(\.path) == ["partners[0].weight", "partners[1].id"], "\(found)")
    #expect(found.map(\.line) == [4, 5])
}

@Test func registrationsAreNotCheckedAgainstPartnersThatAreNotAList() {
    let yaml = """
        partners: acme
        registrations:
          - {partner: acme, domain: acme.example, expires: 2027-03-01T00:00:00Z}
        """
    let found = problems(yaml)
    #expect(found.map(\.path) == ["partners"], "\(found)")
}
