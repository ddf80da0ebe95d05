/// Progress lines on stderr, prefixed with the side of the run (`engine` or `baseline`).
///
/// Stdout carries only the report; these lines show that a long phase is alive.
struct Progress: Sendable {
    /// The side of the run.
    let prefix: String

    /// Prints one line.
    func note(_ text: String) {
        printError("[\(prefix)] \(text)")
    }

    /// Runs `body`, then prints its duration if it took more than a second.
    func timed<T>(_ label: String, _ body: () -> T) -> T {
        let start = monotonicNanoseconds()
        let result = body()
        let seconds = Double(monotonicNanoseconds() - start) / 1e9
        if seconds > 1 { note("\(label): \(Format.seconds(seconds))") }
        return result
    }

    /// Prints `label`'s completed fraction, at most once a second after its first second.
    func tick(_ label: String, fraction: Double, elapsedSeconds: Double, lastPrint: inout Double) {
        guard elapsedSeconds >= 1, elapsedSeconds - lastPrint >= 1 else { return }
        lastPrint = elapsedSeconds
        note("\(label): \(Int(fraction * 100))% after \(Format.seconds(elapsedSeconds))")
    }
}
