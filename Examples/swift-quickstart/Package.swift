// swift-tools-version:6.0
// The README's Swift quick start as a package of its own, depending on TokenStore by path, as
// an application next to a checkout would. `swift run --package-path Examples/swift-quickstart`
// from the repository root runs it; Tests/readme/check_readme.py keeps main.swift equal to the
// README's sample and runs the README's command.
import PackageDescription

let package = Package(
    name: "QuickStart",
    // Named, so that the checkout's directory may be called anything.
    dependencies: [.package(name: "TokenStore", path: "../..")],
    targets: [
        .executableTarget(
            name: "QuickStart",
            dependencies: [.product(name: "TokenStore", package: "TokenStore")],
            path: "Sources/QuickStart"
        )
    ]
)
