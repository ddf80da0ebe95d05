import TokenStore

/// The generated population: users, their devices, and the `(device, app)` records.
///
/// Held compactly (a few bytes per record) so that ten million records fit beside the store;
/// ids and tokens are rendered to strings only when a phase prepares a batch of inputs.
/// Everything is a pure function of the seed.
///
/// Shape: about 20 apps with Zipf popularity; users with 1–3 devices (60/30/10%); 5% of
/// devices anonymous; 45% iOS, 45% Android, 10% web; 1–4 apps per mobile device; the
/// authorization follows DOMAIN.md's platform rules from sampled OS versions and permissions.
final class Dataset: Sendable {
    /// The app ids, most popular first.
    let apps: [String]
    /// Each record's device index.
    let recordDevice: [UInt32]
    /// Each record's app index into `apps`.
    let recordApp: [UInt8]
    /// Each record's authorization at registration.
    let recordAuthorization: [Authorization]
    /// Each device's platform.
    let devicePlatform: [Platform]
    /// Each device's owner, or -1 for an anonymous device.
    let deviceOwner: [Int32]
    /// Users 0..<userCount own at least one record.
    let userCount: Int
    /// The seed everything derives from.
    let seed: UInt64
    /// Maps a Zipf rank (0-based) to a user, so hot users are scattered over the id space.
    let userByRank: Permutation

    /// The number of records.
    var count: Int { recordDevice.count }

    /// Generates `records` records from `seed`.
    init(records: Int, seed: UInt64) {
        self.seed = seed
        apps = Dataset.appNames
        var random = SplitMix64(seed: seed)
        let appPopularity = ZipfSampler(n: apps.count, exponent: 1.0)
        let devicesPerUser = cumulative([0.6, 0.3, 0.1])
        let appsPerDevice = cumulative([0.5, 0.25, 0.15, 0.10])
        let platforms = cumulative([0.45, 0.45, 0.10])

        var recordDevice = [UInt32](), recordApp = [UInt8](), recordAuthorization = [Authorization]()
        var devicePlatform = [Platform](), deviceOwner = [Int32]()
        recordDevice.reserveCapacity(records)
        recordApp.reserveCapacity(records)
        recordAuthorization.reserveCapacity(records)
        var users = 0

        while recordDevice.count < records {
            let anonymous = random.unit() < 0.05
            let devices = anonymous ? 1 : random.pick(devicesPerUser) + 1
            for _ in 0..<devices where recordDevice.count < records {
                let device = UInt32(devicePlatform.count)
                let platform = [Platform.ios, .android, .web][random.pick(platforms)]
                devicePlatform.append(platform)
                deviceOwner.append(anonymous ? -1 : Int32(users))
                let appCount = platform == .web ? 1 : random.pick(appsPerDevice) + 1
                var chosen: [UInt8] = []
                while chosen.count < appCount {
                    let app = UInt8(appPopularity.sample(&random) - 1)
                    if !chosen.contains(app) { chosen.append(app) }
                }
                for app in chosen where recordDevice.count < records {
                    recordDevice.append(device)
                    recordApp.append(app)
                    recordAuthorization.append(Dataset.authorization(platform, &random))
                }
            }
            if !anonymous { users += 1 }
        }
        self.recordDevice = recordDevice
        self.recordApp = recordApp
        self.recordAuthorization = recordAuthorization
        self.devicePlatform = devicePlatform
        self.deviceOwner = deviceOwner
        userCount = max(users, 1)
        userByRank = Permutation(count: userCount, seed: seed ^ 0x75_7365_72)
    }

    /// The record's owner, or `nil` when its device is anonymous.
    func owner(ofRecord record: Int) -> Int? {
        let owner = deviceOwner[Int(recordDevice[record])]
        return owner < 0 ? nil : Int(owner)
    }

    /// The record's platform.
    func platform(ofRecord record: Int) -> Platform { devicePlatform[Int(recordDevice[record])] }

    /// The registration that loads `record` at event time `at`.
    func registration(record: Int, at: Int64) -> Registration {
        let device = Int(recordDevice[record])
        return Registration(
            deviceID: deviceID(device), appID: apps[Int(recordApp[record])], token: token(record: record),
            platform: devicePlatform[device], authorization: recordAuthorization[record],
            userID: owner(ofRecord: record).map(userID), at: at)
    }

    /// The record's key strings.
    func key(record: Int) -> (deviceID: String, appID: String) {
        (deviceID(Int(recordDevice[record])), apps[Int(recordApp[record])])
    }

    /// The external id of `user`.
    func userID(_ user: Int) -> String { "user-\(user)" }

    /// A user drawn with Zipf-skewed frequency: a few users log in very often.
    func hotUser(_ zipf: ZipfSampler, _ random: inout SplitMix64) -> Int {
        userByRank[zipf.sample(&random) - 1]
    }

    /// The authorization a registering session yields, sampled from realistic OS versions and
    /// permission answers and mapped by the domain's own rules (`SessionFacts`).
    private static func authorization(_ platform: Platform, _ random: inout SplitMix64) -> Authorization {
        while true {
            let facts: SessionFacts
            switch platform {
            case .ios:
                let permission = [PermissionState.granted, .provisional, .denied, .notDetermined][
                    random.pick(iosPermissions)]
                facts = SessionFacts(
                    platform: .ios, osMajorVersion: random.unit() < 0.03 ? 11 : 12 + random.below(7),
                    permission: permission, promptAnswered: permission != .notDetermined)
            case .android:
                let permission = [PermissionState.granted, .denied, .notDetermined][random.pick(androidPermissions)]
                facts = SessionFacts(
                    platform: .android, osMajorVersion: random.unit() < 0.35 ? 10 + random.below(3) : 13 + random.below(3),
                    permission: permission, promptAnswered: permission != .notDetermined)
            case .web:
                facts = SessionFacts(platform: .web, osMajorVersion: 0, permission: .granted, promptAnswered: true)
            }
            // A session that yields no token (iOS 11 without a grant) registers nothing: draw again.
            if let authorization = facts.authorization { return authorization }
        }
    }

    private static let iosPermissions = cumulative([0.6, 0.1, 0.2, 0.1])
    private static let androidPermissions = cumulative([0.7, 0.2, 0.1])

    /// Twenty app ids of varied length, most popular first.
    private static let appNames = [
        "com.acme.news", "com.acme.shop", "com.globex.mail", "io.initech.chat", "com.umbrella.fit",
        "com.hooli.maps", "com.stark.bank", "io.wayne.music", "com.wonka.food", "com.tyrell.ride",
        "com.acme.news.widget", "org.example.weather", "com.globex.video", "io.pied.piper",
        "com.cyberdyne.game", "com.soylent.recipes", "net.aperture.learn", "com.vandelay.travel",
        "com.massive.dynamic", "com.oceanic.air",
    ]
}
