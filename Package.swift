// swift-tools-version:6.0
import PackageDescription

// libtokenstore.so is linked by `make lib` (Makefile), which passes the flags that make it
// self-contained: -static-stdlib, lld, a SONAME and the version script exporting only ts_*.
// They are not set here because SwiftPM would apply them to every executable that links
// CTokenStore (the benchmark calls the shims in-process).
let package = Package(
    name: "TokenStore",
    products: [
        .library(name: "TokenStore", targets: ["TokenStore"]),
        .library(name: "CTokenStore", type: .dynamic, targets: ["CTokenStore"]),
        .executable(name: "tokenstore", targets: ["tokenstore"]),
        .executable(name: "tokenstore-bench", targets: ["tokenstore-bench"]),
    ],
    targets: [
        // include/tokenstore.h as a Clang module (include/module.modulemap), so that Swift uses
        // the header's structs and constants instead of copies. Nothing to link: the functions
        // it declares are implemented by CTokenStore.
        .systemLibrary(
            name: "CTokenStoreHeader",
            path: "include"
        ),
        .target(
            name: "TokenStore",
            path: "Sources/TokenStore"
        ),
        .target(
            name: "CTokenStore",
            dependencies: ["TokenStore", "CTokenStoreHeader"],
            path: "Sources/CTokenStore",
            exclude: ["tokenstore.map"]
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
            dependencies: ["TokenStore", "CTokenStore", "CTokenStoreHeader"],
            path: "Benchmarks/tokenstore-bench",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "tokenstore-torture-writer",
            dependencies: ["TokenStore"],
            path: "Tests/TortureWriter"
        ),
        // The header's field offsets and sizes as a C compiler computes them (offsetof, sizeof),
        // for the C-boundary parity tests to compare with Swift's MemoryLayout.
        .target(
            name: "CTokenStoreLayout",
            dependencies: ["CTokenStoreHeader"],
            path: "Tests/CTokenStoreLayout",
            cSettings: [.headerSearchPath("../../include")]
        ),
        .testTarget(
            name: "TokenStoreTests",
            dependencies: ["TokenStore", "TokenStoreCLI", "CTokenStore", "CTokenStoreHeader", "CTokenStoreLayout"],
            path: "Tests/TokenStoreTests"
        ),
    ]
)
