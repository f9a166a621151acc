// swift-tools-version: 6.0
// The module graph of come. Model code (Tensors → Checkpoints/Tokenizers → Transformer →
// Corpora/Evaluation) and, later, the language core (Script) stay in separate branches;
// only Workbench and the `come` executable see both.
import PackageDescription

// The numeric modules are optimised in debug builds too, so `swift test` runs the real
// models at a usable speed.
let optimise: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "come",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "come", targets: ["come"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    ],
    targets: [
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CEditLine", path: "Sources/CEditLine", pkgConfig: "libedit",
                       providers: [.apt(["libedit-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        .target(name: "Tensors", dependencies: ["COpenBLAS"], swiftSettings: optimise),
        .target(name: "Checkpoints", dependencies: ["Tensors"], swiftSettings: optimise),
        .target(name: "Tokenizers", swiftSettings: optimise),
        .target(name: "Transformer", dependencies: ["Tensors", "Checkpoints", "Tokenizers"], swiftSettings: optimise),
        .target(name: "Corpora", dependencies: ["Tokenizers", "CZlib"], swiftSettings: optimise),
        .target(name: "Evaluation", dependencies: ["Transformer", "Corpora"], swiftSettings: optimise),
        .target(name: "Compression", dependencies: ["Transformer", "Corpora", "Evaluation"], swiftSettings: optimise),
        .target(name: "Distillation", dependencies: ["Tensors", "Checkpoints", "Transformer", "Corpora", "Evaluation"], swiftSettings: optimise),
        // The language core knows no model code; Workbench (later) binds the two.
        .target(name: "Script", swiftSettings: optimise),
        .executableTarget(name: "ScriptFuzz", dependencies: ["Script"]),
        // The backward benchmark (scripts/bench-train) needs only the model modules.
        .executableTarget(name: "BenchTrain", dependencies: ["Tensors", "Transformer"], swiftSettings: optimise),
        .target(name: "Workbench", dependencies: [
            "Script", "Tensors", "Checkpoints", "Tokenizers", "Transformer", "Corpora", "Evaluation", "Compression", "Distillation",
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: optimise),
        .executableTarget(name: "come", dependencies: [
            "Tensors", "Checkpoints", "Tokenizers", "Transformer", "Corpora", "Evaluation", "Compression", "Distillation", "Script", "Workbench", "CEditLine",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], swiftSettings: optimise),

        .target(name: "TestSupport", dependencies: ["Tensors", "Checkpoints"], path: "Tests/TestSupport"),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "TestSupport"], exclude: ["Data"]),
        .testTarget(name: "TokenizersTests", dependencies: ["Tokenizers", "TestSupport"]),
        .testTarget(name: "TransformerTests", dependencies: ["Transformer", "TestSupport"]),
        .testTarget(name: "EvaluationTests", dependencies: ["Evaluation", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "CompressionTests", dependencies: ["Compression", "TestSupport"], exclude: ["Data"]),
        .testTarget(name: "WorkbenchTests", dependencies: ["Workbench", "Script", "TestSupport"]),
        .testTarget(name: "DistillationTests", dependencies: ["Distillation", "Compression", "TestSupport"]),
        .testTarget(name: "ScriptTests", dependencies: ["Script", "TestSupport"]),
    ],
    // Swift 5 mode: the model code shares raw buffers across DispatchQueue.concurrentPerform
    // workers by design; strict Sendable checking would force copies or unchecked wrappers.
    swiftLanguageModes: [.v5]
)
