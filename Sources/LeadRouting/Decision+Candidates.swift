/// How a decision record writes its candidates: grouped by verdict, as the router's bit sets
/// over a numbered candidate list, as packed positions in the partner list, or by id.
extension RoutingDecision {
    /// Writes `"candidates"`: the candidates grouped by verdict (`{"eligible":[…],"territory":[…],…}`),
    /// the chosen partner under `"chosen"`. With `partnerList`, bit sets over the router's
    /// candidate list (``BitGroups``, after `"candidate_list"`) when the lead's list has a
    /// number, else packed positions (``PackedPositions``), the groups in the order their
    /// first member is recorded; without it, ids.
    @inline(__always)
    func writeCandidates(to json: inout JSONWriter, partnerList: Int64?) {
        if partnerList != nil, case .verdicts(let verdicts) = candidateRecord, verdicts.list >= 0 {
            json.field("candidate_list", verdicts.list)
            json.objectField("candidates")
            writeBitGroups(verdicts, to: &json)
            json.endObject()
            return
        }
        json.objectField("candidates")
        switch candidateRecord {
        case .verdicts(let verdicts): writeGroups(verdicts, to: &json, packed: partnerList != nil)
        case .codes(let codes): writeGroups(codes, to: &json, partnerList: partnerList)
        }
        json.endObject()
    }

    /// The groups of candidates as the bit sets the router found them in, over the positions
    /// of candidate list ``CandidateVerdicts/list`` (which the store keeps with the partner
    /// list): each verdict's recorded positions (``BitGroups``), the chosen partner left out of
    /// `eligible` and written as its packed index in the partner list under `chosen`. A
    /// verdict with no recorded position is left out. No position is read one by one: a
    /// group costs a few instructions a word, not a few a candidate.
    @inline(__always)
    private func writeBitGroups(_ verdicts: CandidateVerdicts, to json: inout JSONWriter) {
        if let chosen = verdicts.chosen {
            let index = verdicts.partners[chosen]
            json.field("chosen", asciiUpTo: PackedPositions.gapBytes(index)) { PackedPositions.writeGap(index, to: $0) }
        }
        RoutingDecision.forEachBitGroup(verdicts) { verdict, bytes in
            json.field(RoutingDecision.bucketName(1 + verdict), asciiUpTo: BitGroups.encodedCount(bytes.count)) {
                BitGroups.encode(bytes, to: $0)
            }
        }
    }

    /// Calls `body` with each verdict that has recorded positions, in verdict order, and its
    /// bit set's bytes as a record keeps them: the recorded words only (the last cut short at
    /// ``CandidateVerdicts/recorded``), `eligible` without the chosen partner's bit, trailing
    /// zero bytes left out. The JSON record (``BitGroups``) and the binary one
    /// (``BinaryRecord``) keep the same bytes.
    @inline(__always)
    static func forEachBitGroup(_ verdicts: CandidateVerdicts, _ body: (Int, UnsafeRawBufferPointer) -> Void) {
        let recordedWords = (verdicts.recorded + 63) / 64, stride = verdicts.words
        guard recordedWords > 0 else { return }  // no candidate recorded: no group
        // Only the last recorded word is cut short, and only `eligible` loses the chosen bit.
        let lastKept: UInt64 = verdicts.recorded % 64 == 0 ? ~0 : (1 << UInt64(verdicts.recorded % 64)) - 1
        let chosenWord = verdicts.chosen.map { $0 / 64 } ?? -1
        let chosenBit: UInt64 = verdicts.chosen.map { 1 << UInt64($0 % 64) } ?? 0
        verdicts.bits.withUnsafeBufferPointer { bits in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: max(recordedWords, 1)) { words in
                for verdict in 0..<CandidateVerdicts.sets {
                    var used = 0
                    let set = bits.baseAddress! + verdict * stride
                    for w in 0..<recordedWords {
                        var word = set[w]
                        if w == recordedWords - 1 { word &= lastKept }
                        if verdict == 0 && w == chosenWord { word &= ~chosenBit }
                        words[w] = word.littleEndian
                        if word != 0 { used = w * 8 + 8 - word.leadingZeroBitCount / 8 }
                    }
                    guard used > 0 else { continue }
                    body(verdict, UnsafeRawBufferPointer(start: words.baseAddress, count: used))
                }
            }
        }
    }

    /// The groups of candidates kept as bit sets: each group's positions read from its bit
    /// set in ascending order (the list is in config order), so each group is written in one
    /// pass straight into `json`.
    @inline(__always)
    private func writeGroups(_ verdicts: CandidateVerdicts, to json: inout JSONWriter, packed: Bool) {
        // Each partner's gap takes at most the bytes of the largest partner index.
        let gapLimit = PackedPositions.gapBytes(partnerIDs.count)
        let recordedWords = (verdicts.recorded + 63) / 64
        verdicts.bits.withUnsafeBufferPointer { bits in
            verdicts.partners.withUnsafeBufferPointer { partners in
                // Per group, its first position shifted left by 4 and the bucket (0 chosen, 1 +
                // verdict): sorted, that is the order the groups are written in. Then each
                // verdict's count of recorded members.
                withUnsafeTemporaryAllocation(of: Int.self, capacity: 2 * CandidateVerdicts.sets + 1) { scratch in
                    let order = scratch.baseAddress!, counts = scratch.baseAddress! + CandidateVerdicts.sets + 1
                    var groups = 0
                    if let chosen = verdicts.chosen {
                        order[0] = chosen << 4
                        groups = 1
                    }
                    for verdict in 0..<CandidateVerdicts.sets {
                        var first = -1, count = 0
                        for w in 0..<recordedWords {
                            let word = verdicts.recordedWord(bits, verdict, w)
                            if word != 0 && first < 0 { first = w * 64 + word.trailingZeroBitCount }
                            count += word.nonzeroBitCount
                        }
                        counts[verdict] = count
                        if first >= 0 {
                            // Insertion into the sorted groups.
                            var k = groups
                            let entry = first << 4 | (1 + verdict)
                            while k > 0 && order[k - 1] > entry {
                                order[k] = order[k - 1]
                                k -= 1
                            }
                            order[k] = entry
                            groups += 1
                        }
                    }
                    for k in 0..<groups {
                        let bucket = order[k] & 15
                        if bucket == 0 {
                            let index = partners[verdicts.chosen!]
                            if packed {
                                json.field("chosen", asciiUpTo: gapLimit) { PackedPositions.writeGap(index, to: $0) }
                            } else {
                                json.arrayField("chosen")
                                json.element(partnerIDs[index])
                                json.endArray()
                            }
                            continue
                        }
                        let verdict = bucket - 1
                        if packed {
                            json.field(RoutingDecision.bucketName(bucket), asciiUpTo: counts[verdict] * gapLimit) { out in
                                var written = 0, previous = -1
                                for w in 0..<recordedWords {
                                    var word = verdicts.recordedWord(bits, verdict, w)
                                    while word != 0 {
                                        let index = partners[w * 64 + word.trailingZeroBitCount]
                                        written += PackedPositions.writeGap(index - previous - 1, to: out + written)
                                        previous = index
                                        word &= word - 1
                                    }
                                }
                                return written
                            }
                        } else {
                            json.arrayField(RoutingDecision.bucketName(bucket))
                            for w in 0..<recordedWords {
                                var word = verdicts.recordedWord(bits, verdict, w)
                                while word != 0 {
                                    json.element(partnerIDs[partners[w * 64 + word.trailingZeroBitCount]])
                                    word &= word - 1
                                }
                            }
                            json.endArray()
                        }
                    }
                }
            }
        }
    }

    /// The groups of candidates kept as codes (a lead with a deal registration).
    private func writeGroups(_ candidateCodes: [UInt32], to json: inout JSONWriter, partnerList: Int64?) {
        // Buckets: 0 chosen, 1 eligible, 2... one per exclusion; written in first-seen order.
        // One pass finds where each bucket starts and whether its positions ascend; the
        // bookkeeping lives on the stack, and packed groups are written straight into `json`.
        let bucketCount = RoutingDecision.bucketNames.count
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * bucketCount) { scratch in
            let firstSeen = UnsafeMutableBufferPointer(rebasing: scratch[0..<bucketCount])
            let previous = UnsafeMutableBufferPointer(rebasing: scratch[bucketCount..<2 * bucketCount])
            let starts = UnsafeMutableBufferPointer(rebasing: scratch[2 * bucketCount..<3 * bucketCount])
            let ends = UnsafeMutableBufferPointer(rebasing: scratch[(3 * bucketCount)...])
            firstSeen.initialize(repeating: Int.max)
            previous.initialize(repeating: -1)
            ends.initialize(repeating: 0)
            var ascending = true
            let chosen = chosenIndex ?? -1
            for (position, code) in candidateCodes.enumerated() {
                let index = Int(code >> 3), bucket = Int(code >> 3) == chosen ? 0 : 1 + Int(code & 7)
                if firstSeen[bucket] == Int.max { firstSeen[bucket] = position }
                let gap = index - previous[bucket] - 1
                if gap < 0 { ascending = false }
                previous[bucket] = index
                ends[bucket] += PackedPositions.gapBytes(gap)
            }
            guard partnerList != nil && ascending else {
                while let bucket = firstSeen.indices.min(by: { firstSeen[$0] < firstSeen[$1] }), firstSeen[bucket] != Int.max {
                    writeGroupSorted(candidateCodes, bucket, from: firstSeen[bucket], to: &json, packed: partnerList != nil)
                    firstSeen[bucket] = Int.max
                }
                return
            }
            // Each bucket's packed positions in a region of one stack buffer, in one pass;
            // then the regions in first-seen order.
            var offset = 0
            for bucket in 0..<bucketCount {
                starts[bucket] = offset
                offset += ends[bucket]
                ends[bucket] = starts[bucket]
            }
            previous.update(repeating: -1)
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(offset, 1)) { bytes in
                for code in candidateCodes {
                    let index = Int(code >> 3), bucket = Int(code >> 3) == chosen ? 0 : 1 + Int(code & 7)
                    ends[bucket] += PackedPositions.writeGap(index - previous[bucket] - 1, to: bytes.baseAddress! + ends[bucket])
                    previous[bucket] = index
                }
                while let bucket = firstSeen.indices.min(by: { firstSeen[$0] < firstSeen[$1] }), firstSeen[bucket] != Int.max {
                    json.field(dynamic: RoutingDecision.bucketNames[bucket],
                               ascii: UnsafeBufferPointer(rebasing: bytes[starts[bucket]..<ends[bucket]]))
                    firstSeen[bucket] = Int.max
                }
            }
        }
    }

    /// The bucket of a candidate's code: 0 chosen, 1 eligible, 2... its exclusion.
    @inline(__always)
    private func bucket(_ code: UInt32) -> Int {
        Int(code >> 3) == chosenIndex ? 0 : 1 + Int(code & 7)
    }

    /// One group written the slow way: names (no partner list), or positions out of order
    /// (a registering partner from outside the territory, recorded last), sorted.
    private func writeGroupSorted(_ candidateCodes: [UInt32], _ bucket: Int, from start: Int, to json: inout JSONWriter, packed: Bool) {
        let members = candidateCodes[start...].filter { self.bucket($0) == bucket }.map { Int($0 >> 3) }
        if packed {
            var bytes: [UInt8] = []
            PackedPositions.encode(members, into: &bytes)
            json.field(dynamic: RoutingDecision.bucketNames[bucket], ascii: bytes)
        } else {
            json.arrayField(dynamic: RoutingDecision.bucketNames[bucket])
            for index in members { json.element(partnerIDs[index]) }
            json.endArray()
        }
    }

    /// Writes `"assignments"`: each assignment's topic, the `seq` it was published under, and its role.
    @inline(__always)
    func writeAssignments(to json: inout JSONWriter, messages: ArraySlice<OutgoingMessage>) {
        json.arrayField("assignments")
        for (assignment, message) in zip(assignments, messages) {
            json.beginElement()
            json.beginObject()
            json.field("topic", assignment.topic)
            json.field("seq", message.seq)
            json.field("role", literal: assignment.role.literal)
            json.endObject()
        }
        json.endArray()
    }

    /// Each bucket's name in a record: `chosen`, `eligible`, then one per exclusion.
    static let bucketNames = ["chosen", "eligible"] + Exclusion.allCases.map(\.rawValue)

    /// ``bucketNames``' entry `bucket` as a literal, for writing as a key.
    static func bucketName(_ bucket: Int) -> StaticString {
        switch bucket {
        case 0: "chosen"
        case 1: "eligible"
        case 2: "inactive"
        case 3: "paused"
        case 4: "territory"
        case 5: "product"
        case 6: "capacity"
        case 7: "grade"
        default: "registration"
        }
    }
}
