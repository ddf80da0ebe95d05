import TokenStore

/// Device ids and tokens in the shapes real providers issue, rendered from the seed.
///
/// - iOS: an IDFV-style UUID device id; a 64-hex-character APNs token.
/// - Android: a 16-hex-character device id; an FCM token (`<22>:APA91b<134>`, 163 characters).
/// - Web: a browser id; a push subscription (endpoint URL with p256dh and auth keys),
///   200–400 bytes depending on the push service.
extension Dataset {
    /// The device's id.
    func deviceID(_ device: Int) -> String {
        var random = SplitMix64(seed: seed, stream: 1, index: device)
        var bytes: [UInt8] = []
        switch devicePlatform[device] {
        case .ios:
            for (index, length) in [8, 4, 4, 4, 12].enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: "-")) }
                append(&bytes, length, from: Dataset.upperHex, &random)
            }
        case .android:
            append(&bytes, 16, from: Dataset.lowerHex, &random)
        case .web:
            bytes.append(contentsOf: "web-".utf8)
            append(&bytes, 22, from: Dataset.base64URL, &random)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The token the record registers with.
    func token(record: Int) -> String {
        var random = SplitMix64(seed: seed, stream: 2, index: record)
        var bytes: [UInt8] = []
        switch platform(ofRecord: record) {
        case .ios:
            append(&bytes, 64, from: Dataset.lowerHex, &random)
        case .android:
            append(&bytes, 22, from: Dataset.base64URL, &random)
            bytes.append(contentsOf: ":APA91b".utf8)
            append(&bytes, 134, from: Dataset.base64URL, &random)
        case .web:
            let services: [(prefix: String, idLength: ClosedRange<Int>)] = [
                ("https://fcm.googleapis.com/fcm/send/", 140...230),
                ("https://updates.push.services.mozilla.com/wpush/v2/", 80...200),
                ("https://web.push.apple.com/", 60...150),
            ]
            let service = services[random.below(services.count)]
            bytes.append(contentsOf: "{\"endpoint\":\"".utf8)
            bytes.append(contentsOf: service.prefix.utf8)
            let idLength = service.idLength.lowerBound + random.below(service.idLength.count)
            append(&bytes, idLength, from: Dataset.base64URL, &random)
            bytes.append(contentsOf: "\",\"keys\":{\"p256dh\":\"".utf8)
            append(&bytes, 87, from: Dataset.base64URL, &random)
            bytes.append(contentsOf: "\",\"auth\":\"".utf8)
            append(&bytes, 22, from: Dataset.base64URL, &random)
            bytes.append(contentsOf: "\"}}".utf8)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private func append(_ bytes: inout [UInt8], _ count: Int, from alphabet: [UInt8], _ random: inout SplitMix64) {
        var bits = random.next(), left = 10
        for _ in 0..<count {
            if left == 0 { bits = random.next(); left = 10 }
            bytes.append(alphabet[Int(bits & 63) % alphabet.count])
            bits >>= 6
            left -= 1
        }
    }

    private static let lowerHex = Array("0123456789abcdef".utf8)
    private static let upperHex = Array("0123456789ABCDEF".utf8)
    private static let base64URL = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
}
