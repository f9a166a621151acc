// The GGUF reader on small files: one written by python's gguf.GGUFWriter (independent of
// this code; scripts/gen-quant-vectors.py), and v2/v3 files from the test builder covering
// every metadata value type, alignment, and each malformation the reader must name.
import Foundation
import Testing
import Tensors
import TestSupport
@testable import Checkpoints

@Suite struct GGUFTests {
    static let everyType: [(String, GGUFValue)] = [
        ("t.u8", .uint8(200)), ("t.i8", .int8(-100)), ("t.u16", .uint16(60000)), ("t.i16", .int16(-30000)),
        ("t.u32", .uint32(4_000_000_000)), ("t.i32", .int32(-2_000_000_000)), ("t.f32", .float32(0.1)),
        ("t.bool", .bool(false)), ("t.string", .string("héllo ▁wörld")), ("t.u64", .uint64(1 << 63 + 5)),
        ("t.i64", .int64(-(1 << 62))), ("t.f64", .float64(1.0 / 3.0)), ("t.empty", .string("")),
        ("t.strings", .array(.string, [.string("a"), .string(""), .string("ĠĊ")])),
        ("t.nested", .array(.array, [.array(.int32, [.int32(1), .int32(2)]), .array(.string, [.string("x")]),
                                     .array(.array, [.array(.bool, [.bool(true)])])])),
        ("t.emptyarray", .array(.float32, [])),
    ]

    @Test func readsPythonWrittenV3() throws {
        let g = try GGUFFile(TestData.url("tiny_v3.gguf"))
        #expect(g.version == 3 && g.alignment == 64 && g.dataOffset % 64 == 0)
        #expect(g.architecture == "testarch")
        #expect(g.keys.first == "general.architecture" && g.keys.count == 18)
        #expect(g.value("test.u8") == .uint8(200))
        #expect(g.value("test.i8") == .int8(-100))
        #expect(g.value("test.u16") == .uint16(60000))
        #expect(g.value("test.i16") == .int16(-30000))
        #expect(g.value("test.u32") == .uint32(4_000_000_000))
        #expect(g.value("test.i32") == .int32(-2_000_000_000))
        #expect(g.value("test.f32") == .float32(0.1))
        #expect(g.value("test.bool") == .bool(true))
        #expect(g.value("test.string") == .string("héllo ▁wörld"))
        #expect(g.value("test.u64") == .uint64(1 << 63 + 5))
        #expect(g.value("test.i64") == .int64(-(1 << 62)))
        #expect(g.value("test.f64") == .float64(1.0 / 3.0))
        #expect(try g.strings("test.strings") == ["a", "", "ĠĊ"])
        #expect(g.value("test.u16s") == .array(.uint16, [.uint16(1), .uint16(2), .uint16(65535)]))
        #expect(try g.ints("test.u16s") == [1, 2, 65535])
        #expect(try g.floats("test.floats") == [0.5, -1.25])
        #expect(g.value("test.nested") == .array(.array, [.array(.int32, [.int32(1), .int32(2)]),
                                                          .array(.string, [.string("x")]),
                                                          .array(.array, [.array(.bool, [.bool(true)])])]))
        #expect(try g.int("test.u32") == 4_000_000_000)
        expectError(["test.u64", "does not fit"]) { _ = try g.int("test.u64") }  // 2^63 + 5 > Int.max
        #expect(try g.bool("test.bool") == true)
        #expect(try g.float("test.f64") == 1.0 / 3.0)
        #expect(try g.string("absent") == nil)

        let t3 = try #require(g.info("t.f32_3d"))
        #expect(t3.ne == [4, 3, 2] && t3.shape == [2, 3, 4] && t3.type == .f32)
        #expect(try g.tensor("t.f32_3d") == Tensor(shape: [2, 3, 4], data: (0..<24).map(Float.init)))
        #expect(try g.tensor("t.f32_odd").data == [0.5, 1.5, 2.5, 3.5, 4.5])
        for info in g.tensorInfos { #expect(info.offset % 64 == 0, "\(info.name)") }
    }

    @Test func typedAccessorsRejectOtherTypes() throws {
        let g = try GGUFFile(TestData.url("tiny_v3.gguf"))
        expectError(["tiny_v3.gguf", "test.u8", "a string"]) { _ = try g.string("test.u8") }
        expectError(["tiny_v3.gguf", "test.string", "an integer"]) { _ = try g.int("test.string") }
        expectError(["test.strings", "an array of integers"]) { _ = try g.ints("test.strings") }
        expectError(["test.floats", "an array of strings"]) { _ = try g.strings("test.floats") }
        expectError(["test.u32", "a bool"]) { _ = try g.bool("test.u32") }
        expectError(["tiny_v3.gguf", "general.architecture", "testarch", "llama, qwen2, qwen3"]) { _ = try g.modelConfig() }
    }

    @Test(arguments: [UInt32(2), 3])
    func builderFilesOfBothVersions(version: UInt32) throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for alignment in [32, 16, 256] {
            var b = GGUFBuilder(version: version, kvs: GGUFTests.everyType, alignment: alignment)
            if alignment != 32 { b.kvs.append(("general.alignment", .uint32(UInt32(alignment)))) }
            b.tensors = [
                .init(name: "odd", typeID: 0, ne: [3], data: f32Bytes([1, 2, 3])),
                .init(name: "mat", typeID: 0, ne: [2, 3], data: f32Bytes([1, 2, 3, 4, 5, 6])),
                .init(name: "half", typeID: 1, ne: [2], data: [0x00, 0x3C, 0x00, 0xC0]),  // 1, -2
            ]
            let url = dir.appendingPathComponent("v\(version)-\(alignment).gguf")
            try b.write(to: url)
            let g = try GGUFFile(url)
            #expect(g.version == Int(version) && g.alignment == alignment && g.dataOffset % alignment == 0)
            for (k, v) in GGUFTests.everyType { #expect(g.value(k) == v, "\(k)") }
            #expect(g.keys.prefix(GGUFTests.everyType.count).elementsEqual(GGUFTests.everyType.map(\.0)))
            #expect(try g.tensor("odd").data == [1, 2, 3])
            #expect(try g.tensor("mat") == Tensor(shape: [3, 2], data: [1, 2, 3, 4, 5, 6]))
            #expect(try g.tensor("half").data == [1, -2])
            #expect(g.tensorNames == ["odd", "mat", "half"])
        }
    }

    @Test func malformedFilesNameTheFileAndTheKeyOrTensor() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = GGUFBuilder(kvs: [("a.key", .string("value")), ("b.key", .array(.uint32, [.uint32(1), .uint32(2)]))],
                               tensors: [.init(name: "w.one", typeID: 0, ne: [4], data: f32Bytes([1, 2, 3, 4])),
                                         .init(name: "w.two", typeID: 8, ne: [32, 2], data: [UInt8](repeating: 0, count: 68))])
        func file(_ name: String, _ bytes: [UInt8]) throws -> URL {
            let u = dir.appendingPathComponent(name)
            try Data(bytes).write(to: u)
            return u
        }
        let goodURL = try file("good.gguf", good.build())
        #expect(try GGUFFile(goodURL).tensor("w.two").data == [Float](repeating: 0, count: 64))

        var b = good
        b.magic = Array("GGML".utf8)
        expectError(["magic.gguf", "bad magic"]) { _ = try GGUFFile(file("magic.gguf", b.build())) }
        for v: UInt32 in [1, 4] {
            b = good
            b.version = v
            expectError(["version\(v).gguf", "unsupported GGUF version \(v)"]) { _ = try GGUFFile(file("version\(v).gguf", b.build())) }
        }
        b = good
        b.version = UInt32(3).byteSwapped
        expectError(["bigendian.gguf", "big-endian"]) { _ = try GGUFFile(file("bigendian.gguf", b.build())) }

        // Truncation: inside the header, inside a key/value, inside a tensor info, in the data.
        let bytes = good.build()
        let keyStart = 24 + 8 + 5 + 4  // counts, then "a.key" string and its type
        expectError(["cut-header.gguf", "truncated"]) { _ = try GGUFFile(file("cut-header.gguf", Array(bytes.prefix(10)))) }
        expectError(["cut-kv.gguf", "a.key", "truncated"]) { _ = try GGUFFile(file("cut-kv.gguf", Array(bytes.prefix(keyStart + 10)))) }
        let name = Array("w.two".utf8)
        let at = try #require((0..<bytes.count).first { Array(bytes[$0..<min(bytes.count, $0 + 5)]) == name })
        let cutInfo = try file("cut-info.gguf", Array(bytes.prefix(at + 5 + 2)))  // inside w.two's n_dims
        expectError(["cut-info.gguf", "w.two", "truncated"]) { _ = try GGUFFile(cutInfo) }
        expectError(["cut-data.gguf", "w.two", "past the end"]) { _ = try GGUFFile(file("cut-data.gguf", Array(bytes.dropLast(40)))) }

        b = good
        b.tensors[0].offset = 1 << 20
        expectError(["offset.gguf", "w.one", "past the end"]) { _ = try GGUFFile(file("offset.gguf", b.build())) }
        b = good
        b.tensors[1].offset = 8
        expectError(["misaligned.gguf", "w.two", "alignment"]) { _ = try GGUFFile(file("misaligned.gguf", b.build())) }
        b = good
        b.tensors[1].offset = 0
        expectError(["overlap.gguf", "overlaps"]) { _ = try GGUFFile(file("overlap.gguf", b.build())) }
        b = good
        b.tensors[1].typeID = 99
        expectError(["type.gguf", "w.two", "unknown ggml type 99"]) { _ = try GGUFFile(file("type.gguf", b.build())) }
        b = good
        b.tensors[1].ne = [31, 2]
        expectError(["blocks.gguf", "w.two", "block size"]) { _ = try GGUFFile(file("blocks.gguf", b.build())) }
        b = good
        b.tensors[1].name = "w.one"
        expectError(["dup.gguf", "w.one", "duplicate"]) { _ = try GGUFFile(file("dup.gguf", b.build())) }
        b = good
        b.kvs.append(("a.key", .bool(true)))
        expectError(["dupkey.gguf", "a.key", "duplicate"]) { _ = try GGUFFile(file("dupkey.gguf", b.build())) }
        b = good
        b.kvs.append(("general.alignment", .uint32(24)))
        expectError(["align.gguf", "general.alignment", "power of two"]) { _ = try GGUFFile(file("align.gguf", b.build())) }

        // A known but unsupported type reads, and fails only when dequantised, naming the type.
        b = good
        b.tensors[1] = .init(name: "w.q2k", typeID: 10, ne: [256], data: [UInt8](repeating: 0, count: 84))
        let q2 = try GGUFFile(file("q2k.gguf", b.build()))
        #expect(q2.info("w.q2k")?.type == .q2_K)
        expectError(["q2k.gguf", "w.q2k", "Q2_K", "Q4_K"]) { _ = try q2.tensor("w.q2k") }

        // Corrupt value type and absurd array length.
        var raw = bytes
        raw[24 + 8 + 5] = 77
        expectError(["vtype.gguf", "a.key", "unknown metadata value type 77"]) { _ = try GGUFFile(file("vtype.gguf", raw)) }
        b = GGUFBuilder(kvs: [("huge", .array(.uint64, []))])
        raw = b.build()
        let lengthAt = 24 + 8 + 4 + 4 + 4
        for k in 0..<8 { raw[lengthAt + k] = 0xFF }
        expectError(["huge.gguf", "huge", "cannot fit"]) { _ = try GGUFFile(file("huge.gguf", raw)) }
    }
}
