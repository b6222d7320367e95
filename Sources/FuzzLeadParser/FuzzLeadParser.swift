// A libFuzzer target. scripts/fuzz builds it with -sanitize=fuzzer and -D FUZZING; a normal
// build makes a stub that says how to run it.
#if FUZZING
import CFuzzerDriver
import Foundation
import LeadRoutingFuzzing
#endif

@main
enum FuzzLeadParser {
    static func main() {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            FuzzProperties.leadParser(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
            return 0
        }
        exit(status)
        #else
        print("FuzzLeadParser is a libFuzzer target: run scripts/fuzz")
        #endif
    }
}
