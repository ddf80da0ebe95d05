/// DOMAIN.md's bounce table: which provider signals mean what.
enum BounceClassifier {
    private static let dead: Set<String> = [
        "NotRegistered", "UNREGISTERED", "InvalidRegistration", "Unregistered", "ExpiredToken", "BadDeviceToken",
        "404", "410",
    ]
    private static let misconfigured: Set<String> = [
        "MismatchSenderId", "SENDER_ID_MISMATCH", "DeviceTokenNotForTopic", "TopicDisallowed",
        "InvalidProviderToken", "401", "403",
    ]
    private static let transient: Set<String> = [
        "429", "Unavailable", "UNAVAILABLE", "InternalServerError", "INTERNAL", "QUOTA_EXCEEDED", "TooManyRequests",
        "ServiceUnavailable", "Shutdown",
    ]
    private static let payload: Set<String> = ["PayloadTooLarge", "PayloadEmpty", "MessageTooBig"]

    /// Classifies a provider error code (case-sensitive, as providers send them). HTTP
    /// statuses are given as their digits; any 5xx is transient.
    static func classify(_ code: String) -> BounceCategory {
        if dead.contains(code) { return .dead }
        if misconfigured.contains(code) { return .misconfigured }
        if transient.contains(code) { return .transient }
        if payload.contains(code) { return .payload }
        if code.utf8.count == 3, code.hasPrefix("5"), code.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) { return .transient }
        return .unknown
    }
}
