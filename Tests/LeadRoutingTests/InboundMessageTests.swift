import Foundation
@testable import LeadRouting
import Testing

@Suite("Inbound messages: two frames inline, the rest in a list")
struct InboundMessageTests {
    @Test("any number of frames reads back as given, by index and as a list, and compares by frames and size")
    func framesReadBack() {
        for count in 0...5 {
            let frames = (0..<count).map { i in [UInt8](repeating: UInt8(i), count: i + 1) }
            let made = InboundMessage(frames: frames)
            var appended = InboundMessage()
            for frame in frames { appended.append(frame) }
            appended.totalSize = frames.reduce(0) { $0 + $1.count }
            #expect(made.frameCount == count && appended.frameCount == count)
            #expect(made.frames == frames && appended.frames == frames)
            #expect((0..<count).map(made.frame) == frames)
            #expect(made == appended)
            #expect(made.totalSize == (count * (count + 1)) / 2)
            if count > 0 {
                var other = made
                other.frames[count - 1] = [0xFF]
                #expect(other != made && other.frame(count - 1) == [0xFF] && other.frameCount == count)
            }
        }
    }

    @Test("an ingest message of three frames is rejected for its layout, quoting the frame after the topic")
    func threeFrames() throws {
        var pipeline = LeadPipeline(config: RouterConfig(partners: []), seed: 1)
        let message = InboundMessage(frames: [Array("lead".utf8), Array("second".utf8), Array("third".utf8)])
        guard case .rejected(let rejection, let out) = pipeline.process(message, from: .ingest, now: 0) else {
            Issue.record("not rejected")
            return
        }
        #expect(rejection.code == .badFrames)
        let envelope = try #require(try JSONSerialization.jsonObject(with: Data(out.envelope)) as? [String: Any])
        #expect(envelope["input"] as? String == "second" && envelope["frames"] as? Int == 3 && envelope["size"] as? Int == 15)
    }
}
