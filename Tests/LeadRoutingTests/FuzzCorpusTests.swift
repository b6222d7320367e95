import Foundation
import LeadRoutingFuzzing
import Testing

/// The fuzz targets' properties over their seed corpus (Fuzz/corpus), so a normal test run
/// checks every seed and regression input without libFuzzer.
@Suite("fuzz corpus")
struct FuzzCorpusTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Fuzz/corpus").standardized

    static func inputs(_ target: String) throws -> [[UInt8]] {
        let directory = corpus.appendingPathComponent(target)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { Array(try Data(contentsOf: directory.appendingPathComponent($0))) }
    }

    @Test("every seed holds the properties its fuzz target checks", arguments: [
        "lead-parser", "control-request", "replay-request", "config-loader",
    ])
    func seedsHoldTheProperties(target: String) throws {
        let inputs = try Self.inputs(target)
        #expect(inputs.count >= 4, "a handful of seeds for \(target)")
        for input in inputs {
            switch target {
            case "lead-parser": FuzzProperties.leadParser(input)
            case "control-request": FuzzProperties.controlRequest(input)
            case "replay-request": FuzzProperties.replayRequest(input)
            default: FuzzProperties.configLoader(input)
            }
        }
    }
}
