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
            path: "Sources/CTokenStore"
        ),
        .executableTarget(
            name: "tokenstore",
            dependencies: ["TokenStore"],
            path: "Sources/tokenstore"
        ),
        .executableTarget(
            name: "tokenstore-bench",
            dependencies: ["TokenStore"],
            path: "Benchmarks/tokenstore-bench"
        ),
        .testTarget(
            name: "TokenStoreTests",
            dependencies: ["TokenStore"],
            path: "Tests/TokenStoreTests"
        ),
    ]
)
