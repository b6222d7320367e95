import Foundation
@testable import LeadRouting
import Testing

@Suite struct AccountKeyFastPaths {
    @Test("the ASCII path's legal-form matcher knows exactly the legal forms")
    func legalFormMatcher() {
        func matches(_ word: String) -> Bool {
            var word = word
            return word.withUTF8 { AccountKey.isLegalForm($0) }
        }
        for form in AccountKey.legalForms { #expect(matches(form), "\(form)") }
        let others = ["", "c", "in", "incorp", "corporations", "incorporate", "gmb", "gmbhx", "limite", "companyy", "th", "thee",
                      "acme", "widgets", "oyster", "ab1", "co2", "sas9", "abcdefghijklm", "pt", "kgs"]
        for word in others { #expect(matches(word) == AccountKey.legalForms.contains(word), "\(word)") }
    }

    @Test("domains: an already normal one is kept as it is, any other normalised",
          arguments: [
              ("acme.example", "acme.example"), ("www.acme.example", "acme.example"), ("acme.example.", "acme.example"),
              ("WWW.Acme.Example.", "acme.example"), ("www", "www"), ("wwwx.example", "wwwx.example"),
              ("a-b.example", "a-b.example"), ("  acme.example ", "acme.example"), ("acme.example..", "acme.example"),
          ])
    func domains(input: String, expected: String) {
        #expect(AccountKey.normalizedDomain(input) == expected)
    }
}
