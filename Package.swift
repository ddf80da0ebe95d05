// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "TokenStore",
    products: [
        .library(name: "TokenStore", targets: ["TokenStore"]),
        .library(name: "tokenstore", type: .dynamic, targets: ["CTokenStore"]),
        .executable(name: "tokenstore", targets: ["tokenstore"]),
        .executable(name: "tokenstore-bench", targets: ["tokenstore-bench"]),
    ],
    targets: [
        .target(
            name: "TokenStore",
            path: "Sources/TokenStore"
        ),
        .target(
            name: "CTokenStore",
            dependencies: ["TokenStore"],
            path: "Sources/CTokenStore",
            exclude: ["tokenstore.map"],
            linkerSettings: [
                // libtokenstore.so: self-contained (no Swift runtime needed on the host), with a
                // SONAME, exporting only the ts_* C API listed in include/tokenstore.h. lld (shipped
                // with the toolchain) drops the localized Swift symbols from the dynamic symbol
                // table; gold leaves them there as local entries.
                .unsafeFlags(
                    [
                        "-static-stdlib",
                        "-use-ld=lld",
                        "-Xlinker", "-soname=libtokenstore.so.0",
                        "-Xlinker", "--version-script=\(Context.packageDirectory)/Sources/CTokenStore/tokenstore.map",
                    ],
                    .when(platforms: [.linux])),
            ]
        ),
        .target(
            name: "TokenStoreCLI",
            dependencies: ["TokenStore"],
            path: "Sources/TokenStoreCLI"
        ),
        .executableTarget(
            name: "tokenstore",
            dependencies: ["TokenStoreCLI"],
            path: "Sources/tokenstore"
        ),
        .executableTarget(
            name: "tokenstore-bench",
            dependencies: ["TokenStore", "CTokenStore"],
            path: "Benchmarks/tokenstore-bench",
            exclude: ["README.md"],
            linkerSettings: [
                // CTokenStore links with -static-stdlib (for libtokenstore.so), which this
                // executable inherits; static FoundationEssentials then needs its support libraries.
                .linkedLibrary("_FoundationCollections", .when(platforms: [.linux])),
                .linkedLibrary("_FoundationCShims", .when(platforms: [.linux])),
            ]
        ),
        .testTarget(
            name: "TokenStoreTests",
            dependencies: ["TokenStore", "TokenStoreCLI"],
            path: "Tests/TokenStoreTests"
        ),
    ]
)
