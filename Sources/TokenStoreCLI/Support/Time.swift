/// Event times are milliseconds since the Unix epoch; durations are written `270d`, `12h`,
/// `30m`, `45s` or `500ms`.
enum TimeFormat {
    /// `2026-11-28T10:00:00.000Z`, computed without Foundation (proleptic Gregorian, UTC).
    static func iso8601(milliseconds: Int64) -> String {
        let millis = Int(milliseconds %% 1000)
        let seconds = (milliseconds - Int64(millis)) / 1000
        let secondsOfDay = Int(seconds %% 86_400)
        let days = (seconds - Int64(secondsOfDay)) / 86_400
        let (year, month, day) = civilDate(daysSinceEpoch: days)
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondsOfDay / 3600, 2)):"
            + "\(pad(secondsOfDay / 60 % 60, 2)):\(pad(secondsOfDay % 60, 2)).\(pad(millis, 3))Z"
    }

    /// Howard Hinnant's days-to-civil algorithm.
    private static func civilDate(daysSinceEpoch: Int64) -> (Int64, Int, Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * monthIndex + 2) / 5 + 1)
        let month = Int(monthIndex < 10 ? monthIndex + 3 : monthIndex - 9)
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pad<T: BinaryInteger>(_ value: T, _ width: Int) -> String {
        let text = String(value.magnitude)
        let padded = text.count >= width ? text : String(repeating: "0", count: width - text.count) + text
        return value < 0 ? "-" + padded : padded
    }

    /// Parses a duration into milliseconds: a positive integer followed by `d`, `h`, `m`, `s`
    /// or `ms`. Returns `nil` for anything else or on overflow.
    static func parseDuration(_ text: String) -> Int64? {
        let units: [(suffix: String, factor: Int64)] = [
            ("ms", 1), ("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000),
        ]
        for (suffix, factor) in units where text.hasSuffix(suffix) {
            let digits = text.dropLast(suffix.count)
            guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let amount = Int64(digits)
            else { return nil }
            let (product, overflow) = amount.multipliedReportingOverflow(by: factor)
            return overflow ? nil : product
        }
        return nil
    }
}

infix operator %% : MultiplicationPrecedence

/// The non-negative remainder (floor modulo), so times before 1970 format correctly.
private func %% (lhs: Int64, rhs: Int64) -> Int64 {
    let remainder = lhs % rhs
    return remainder < 0 ? remainder + rhs : remainder
}
