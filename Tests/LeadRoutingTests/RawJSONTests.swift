@testable import LeadRouting
import Testing

@Suite("Withholding lead fields: top-level members removed, the rest byte for byte")
struct RawJSONTests {
    func removing(_ names: [String], from json: String) -> String {
        String(decoding: RawJSON.removingTopLevelFields(names, from: Array(json.utf8)), as: UTF8.self)
    }

    @Test(
        "members named are removed wherever they stand; the others keep their bytes",
        arguments: [
            // (input, expected)
            (#"{"a":1,"contact":{"n":"x"},"b":2}"#, #"{"a":1,"b":2}"#),
            (#"{"contact":{"n":"x"},"a":1}"#, #"{"a":1}"#),
            (#"{"a":1,"contact":"x"}"#, #"{"a":1}"#),
            (#"{"contact":"x"}"#, "{}"),
            ("{}", "{}"),
            (#"{"a":1}"#, #"{"a":1}"#),
            // The whitespace before each member kept is kept with it.
            (#"{ "a" : [1, 2.50e3, true, null] , "contact" : { } , "b" :"x" }"#, #"{ "a" : [1, 2.50e3, true, null], "b" :"x" }"#),
            ("{\n  \"contact\": {\"email\": \"d@x\"},\n  \"a\": {\"b\": {\"c\": []}}\n}\n", "{\n  \"a\": {\"b\": {\"c\": []}}\n}"),
            (#"{"note":"a } b { c","contact":{"s":"} \" {"},"z":"\"contact\":1"}"#, #"{"note":"a } b { c","z":"\"contact\":1"}"#),
            (#"{"x":{"contact":1},"contact":[{"a":"]"}],"y":"\\"}"#, #"{"x":{"contact":1},"y":"\\"}"#),
            (#"{"contact":1,"contact":2,"a":3}"#, #"{"a":3}"#),
            (#"{"contacts":1,"contac":2}"#, #"{"contacts":1,"contac":2}"#),
            (#"{"ü":"é","contact":null,"end":-0.5}"#, #"{"ü":"é","end":-0.5}"#),
        ])
    func removesMembers(input: String, expected: String) {
        #expect(removing(["contact"], from: input) == expected)
    }

    @Test("several names at once; no names leaves the input as it was")
    func severalNames() {
        let lead = #"{"lead_id":"l-1", "contact": {}, "qualification": {"budget": 1}, "products": ["a"]}"#
        #expect(removing(["contact", "qualification"], from: lead) == #"{"lead_id":"l-1", "products": ["a"]}"#)
        #expect(removing([], from: lead) == lead)
        #expect(removing(["absent"], from: lead) == lead)
    }

    @Test("a key written with escapes is the same key", arguments: [#"\u0063ontact"#, #"con\u0074act"#, #"\u0063\u006F\u006E\u0074\u0061\u0063\u0074"#])
    func escapedKeys(key: String) {
        #expect(removing(["contact"], from: #"{"a":1,"\#(key)":{"email":"d@x"}}"#) == #"{"a":1}"#)
        #expect(removing(["contact"], from: #"{"\#(key)x":1}"#) == #"{"\#(key)x":1}"#)
    }

    @Test("input cut short is read no further than its end (the bytes are read in place)",
          arguments: [#"{"a":"x\"#, #"{"a":"x"#, #"{"contact":[1,"#, #"{"a":tru"#, #"{"contact":{"b":"\"#])
    func cutShort(input: String) {
        let out = removing(["contact"], from: input)
        #expect(out.hasPrefix("{") && out.hasSuffix("}") && !out.contains("contact"))
    }

    @Test("input that is not an object comes back as it was", arguments: ["[1,2]", "\"contact\"", "", "  ", "{\"a\" 1}"])
    func notAnObject(input: String) {
        #expect(removing(["contact"], from: input) == input)
    }
}
