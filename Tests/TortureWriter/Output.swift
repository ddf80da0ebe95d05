#if canImport(Glibc)
import Glibc
#endif

/// Lines to the parent on stdout: one `write(2)` per line under a lock, so that lines from
/// several threads never interleave and a `SIGKILL` can at worst cut off the last line.
enum Output {
    nonisolated(unsafe) private static var mutex = pthread_mutex_t()

    static func start() { pthread_mutex_init(&mutex, nil) }

    static func line(_ text: String) {
        var bytes = Array(text.utf8)
        bytes.append(10)
        pthread_mutex_lock(&mutex)
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = Glibc.write(1, raw.baseAddress! + done, raw.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    _exit(4)  // the parent is gone
                }
                done += n
            }
        }
        pthread_mutex_unlock(&mutex)
    }

    /// Reports a failure on stderr and stdout, then exits at once with `status`.
    static func fail(_ status: Int32, _ text: String) -> Never {
        line("X\t" + text.replacingTabs())
        let message = "tokenstore-torture-writer: " + text + "\n"
        _ = message.withCString { Glibc.write(2, $0, strlen($0)) }
        _exit(status)
    }
}

extension String {
    func replacingTabs() -> String { String(map { $0 == "\t" || $0 == "\n" ? " " : $0 }) }
}

/// SplitMix64: a small, seedable generator, so that a failing seed can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Milliseconds on the monotonic clock.
func monotonicMillis() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
}
