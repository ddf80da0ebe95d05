/// DOMAIN.md's export shape for one user, written by hand so that the output is stable.
enum ExportJSON {
    static func user(_ userID: String, state: UserState, tokens: [TokenRecord]) -> String {
        var out = "{\"external_id\":" + quote(userID) + ",\"push_subscribe\":" + quote(state.subscription.description)
        if let at = state.optedInAt { out += ",\"push_opted_in_at\":" + quote(iso8601(at)) }
        if let at = state.unsubscribedAt { out += ",\"push_unsubscribed_at\":" + quote(iso8601(at)) }
        out += ",\"push_tokens\":["
        for (i, t) in tokens.enumerated() {
            if i > 0 { out += "," }
            out += "{\"app\":" + quote(t.appID) + ",\"platform\":" + quote(t.platform.description)
            out += ",\"token\":" + quote(t.token) + ",\"device_id\":" + quote(t.deviceID)
            out += ",\"notifications_enabled\":" + (t.authorization.showsVisiblePush(quarantined: t.isQuarantined) ? "true" : "false")
            out += "}"
        }
        return out + "]}"
    }

    /// A JSON string literal.
    static func quote(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        return out + "\""
    }

    /// `2026-11-28T10:00:00Z` from milliseconds since the epoch (UTC, no leap seconds).
    static func iso8601(_ ms: Int64) -> String {
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        var days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
        let secs = seconds - days * 86400
        // Civil from days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let doe = days - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        var y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        if m <= 2 { y += 1 }
        func two(_ n: Int64) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(y)-\(two(m))-\(two(d))T\(two(secs / 3600)):\(two(secs / 60 % 60)):\(two(secs % 60))Z"
    }
}
