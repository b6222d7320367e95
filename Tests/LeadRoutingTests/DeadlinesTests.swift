import LeadRouting
import Testing

@Suite("Deadlines: the heap that sets the poll timeout")
struct DeadlinesTests {
    @Test("due keys come out earliest first; later ones stay")
    func earliestFirst() {
        var d = Deadlines<String, Int>()
        for (key, at) in [("c", 30), ("a", 10), ("b", 20)] { d.schedule(key, at: at) }
        #expect(d.next == 10)
        #expect(d.takeDue(now: 25) == ["a", "b"])
        #expect(d.next == 30)
        #expect(d.count == 1)
    }

    @Test("scheduling a key again moves it; cancelling removes it; neither leaves a ghost")
    func moveAndCancel() {
        var d = Deadlines<String, Int>()
        d.schedule("a", at: 10)
        d.schedule("b", at: 15)
        d.schedule("a", at: 40)
        d.cancel("b")
        #expect(d.next == 40)
        #expect(d.takeDue(now: 39) == [])
        #expect(d.deadline(of: "a") == 40)
        #expect(d.takeDue(now: 40) == ["a"])
        #expect(d.isEmpty)
        #expect(d.next == nil)
    }

    @Test("many keys moved many times come out in deadline order, each once, at its last deadline")
    func randomAgainstSorted() {
        var generator = SplitMix64(seed: 7)
        var d = Deadlines<Int, Int>()
        var expected: [Int: Int] = [:]
        for _ in 0..<20_000 {
            let key = Int(generator.next() % 2_000)
            let at = Int(generator.next() % 1_000_000)
            d.schedule(key, at: at)
            expected[key] = at
        }
        var out: [Int] = []
        var now = 0
        while !d.isEmpty {
            now += 50_000
            out += d.takeDue(now: now)
        }
        #expect(out.count == expected.count)
        #expect(Set(out) == Set(expected.keys))
        #expect(out.map { expected[$0]! } == out.map { expected[$0]! }.sorted())
    }
}
