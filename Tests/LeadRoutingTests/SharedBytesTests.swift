import Foundation
@testable import LeadRouting
import Testing

/// Routed leads' envelopes are runs of shared blocks (``ByteArena``, ``SharedBytes``): these
/// tests hold a run to the bytes written, whatever is written after it and whoever else holds
/// the block.
@Suite("Envelopes in shared blocks")
struct SharedBytesTests {
    @Test("runs written one after another share a block, and each reads back as written")
    func runsShareABlock() {
        var arena = ByteArena(blockSize: 1024)
        var runs: [(SharedBytes, [UInt8])] = []
        var random = SplitMix64(seed: 11)
        for i in 0..<300 {
            let bytes = (0..<Int(random.next() % 200)).map { _ in UInt8(truncatingIfNeeded: random.next()) }
            let run = bytes.withUnsafeBufferPointer { arena.copy($0) }
            runs.append((run, bytes))
            #expect(run == bytes && bytes == run && run.count == bytes.count, "run \(i)")
        }
        // Written after, nothing changed before.
        for (i, (run, bytes)) in runs.enumerated() {
            #expect(Array(run) == bytes && run.array == bytes && Data(run) == Data(bytes), "run \(i)")
        }
        #expect(runs[0].0.block === runs[1].0.block, "small runs share a block")
        #expect(Set(runs.map { ObjectIdentifier($0.0.block) }).count < 300 / 4, "about five runs a block")
    }

    @Test("a run larger than a block gets a block of its own, and the arena's block keeps its room")
    func largeRun() {
        var arena = ByteArena(blockSize: 64)
        let small = [UInt8](repeating: 1, count: 10).withUnsafeBufferPointer { arena.copy($0) }
        let large = [UInt8](repeating: 2, count: 1000).withUnsafeBufferPointer { arena.copy($0) }
        let next = [UInt8](repeating: 3, count: 10).withUnsafeBufferPointer { arena.copy($0) }
        #expect(large.block !== small.block && next.block === small.block)
        #expect(large.allSatisfy { $0 == 2 } && small.allSatisfy { $0 == 1 } && next.allSatisfy { $0 == 3 })
    }

    @Test("a block is freed when its last run goes, and not before")
    func blocksAreFreed() {
        weak var block: ByteBlock?
        var kept: SharedBytes?
        do {
            var arena = ByteArena(blockSize: 128)
            let first = [UInt8](repeating: 7, count: 16).withUnsafeBufferPointer { arena.copy($0) }
            kept = [UInt8](repeating: 8, count: 16).withUnsafeBufferPointer { arena.copy($0) }
            block = first.block
        }
        #expect(block != nil, "a run still holds it")
        #expect(kept.map(Array.init) == [UInt8](repeating: 8, count: 16))
        kept = nil
        #expect(block == nil)
    }

    @Test("equal bytes are equal and hash alike, wherever they are; a shared range reads its part")
    func equality() {
        var arena = ByteArena()
        let text = Array(#"{"seq":1,"lead":{"a":1}}"#.utf8)
        let a = text.withUnsafeBufferPointer { arena.copy($0) }
        let b = SharedBytes(text)
        #expect(a == b && a.hashValue == b.hashValue && a.block !== b.block)
        #expect(a != SharedBytes(text.dropLast()))
        #expect(a.sharing(16..<23) == Array(#"{"a":1}"#.utf8) && a.sharing(16..<23).block === a.block)
        #expect(SharedBytes.empty.isEmpty && SharedBytes.empty == [] && ([] as SharedBytes) == SharedBytes([UInt8]()))
        let written = arena.write(maximum: 8) { out in
            for i in 0..<5 { out[i] = UInt8(i) }
            return 5
        }
        #expect(written == [0, 1, 2, 3, 4])
    }

    @Test("a batch's envelopes share blocks, and each is the envelope routing alone writes")
    func envelopesShareBlocks() throws {
        var batched = LeadPipeline(config: RouterConfig(partners: [partner("acme", .coSell)]), seed: 5)
        var alone = batched
        var envelopes: [OutgoingMessage] = []
        var decision = RoutingDecision()
        for i in 0..<40 {
            let lead = try LeadParser.parse(Array(#"{"lead_id":"l-\#(i)","company":{"name":"Acme \#(i)","country":"US"}}"#.utf8)).get()
            _ = batched.route(lead, now: 1_795_000_000_000 + Int64(i), appendingTo: &envelopes, decision: &decision)
            guard case .routed(_, _, let messages) = alone.route(lead, now: 1_795_000_000_000 + Int64(i)) else {
                Issue.record("lead \(i) not routed")
                continue
            }
            #expect(messages == Array(envelopes.suffix(messages.count)), "lead \(i)")
        }
        #expect(envelopes.count == 80)
        #expect(Set(envelopes.map { ObjectIdentifier($0.envelope.block) }).count < 10, "dozens of envelopes a block")
    }

    @Test("leads received into blocks are read in place: the lead is its frame, its text shares the pipeline's blocks")
    func leadsReadInPlace() throws {
        var pipeline = LeadPipeline(config: RouterConfig(partners: [partner("acme")]), seed: 5)
        var frames = ByteArena()
        let topic = SharedBytes(Array("lead".utf8))
        var leads: [ParsedLead] = []
        for (i, prefix) in ([[], [0xEF, 0xBB, 0xBF], []] as [[UInt8]]).enumerated() {
            let json = Array(#"{"lead_id":"r-\#(i)","company":{"name":"Acme \#(i)","domain":"acme.example","country":"us"},"products":["EDR"]}"#.utf8)
            let frame = (prefix + json).withUnsafeBufferPointer { frames.copy($0) }
            var message = InboundMessage()
            message.append(topic)
            message.append(frame)
            message.totalSize = topic.count + frame.count
            #expect(message.sharedFrame(1).block === frame.block && message.frame(1) == prefix + json)
            let lead = try pipeline.accept(message, from: .ingest).get()
            // The lead's bytes are the frame's (less a byte order mark), not a copy.
            #expect(lead.raw == json && lead.raw.block === frame.block)
            #expect(lead.facts.leadID == "r-\(i)" && lead.facts.companyName == "Acme \(i)" && lead.facts.products == ["edr"])
            #expect(lead.facts.country == "US" && lead.facts.account.domainKey == "d:acme.example")
            leads.append(lead)
        }
        #expect(leads[0].facts.spare.bytes.block === leads[2].facts.spare.bytes.block, "the leads' text shares a block")
        #expect(leads[0].facts.spare.bytes.block !== leads[0].raw.block)
        // Equal to the same lead parsed from an array of its own.
        #expect(try LeadParser.parse(leads[1].raw.array).get() == leads[1])
    }

    @Test("a writer in an arena's block keeps its text in place, and one that outgrows the room goes on in a buffer")
    func writerInABlock() throws {
        var arena = ByteArena(blockSize: 256)
        var runs: [(SharedBytes, String)] = []
        for size in [10, 100, 200, 1000, 5, 300] {
            let text = String(repeating: "x", count: size)
            var json = JSONWriter(in: &arena, capacity: 64)
            json.beginObject()
            json.field("seq", size)
            json.field("text", text)
            json.endObject()
            let run = json.shared(in: &arena)
            runs.append((run, #"{"seq":\#(size),"text":"\#(text)"}"#))
        }
        for (run, expected) in runs { #expect(run.text == expected) }
        #expect(runs[0].0.block === runs[1].0.block, "small runs written in place, side by side")
        // Asked for as an array, a writer in a block copies out what it wrote.
        var json = JSONWriter(in: &arena, capacity: 16)
        json.beginObject()
        json.field("a", 1)
        json.endObject()
        #expect(json.bytes.text == #"{"a":1}"#)
        let after = [UInt8](repeating: 9, count: 4).withUnsafeBufferPointer { arena.copy($0) }
        #expect(after == [9, 9, 9, 9] && runs.allSatisfy { $0.0.text == $0.1 })
    }
}
