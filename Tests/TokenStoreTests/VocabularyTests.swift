import Testing
@testable import TokenStore

@Test func platformNamesRoundTrip() {
    for platform in Platform.allCases { #expect(Platform(name: platform.description) == platform) }
}
