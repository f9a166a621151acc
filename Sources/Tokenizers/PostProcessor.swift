// Post-processors of HF tokenizer.json ("post_processor") for a single sequence: the special
// tokens added around the ids when add_special_tokens is true. TemplateProcessing's `single`
// template, RobertaProcessing (<s> A </s>), BertProcessing ([CLS] A [SEP]), ByteLevel (adds
// nothing; it only trims offsets) and Sequence (each wraps the result of the previous).
import Foundation

struct PostProcessor {
    var prefix: [Int] = []
    var suffix: [Int] = []

    static let none = PostProcessor()

    /// `outer` applied to the result of `self`.
    func then(_ outer: PostProcessor) -> PostProcessor {
        PostProcessor(prefix: outer.prefix + prefix, suffix: suffix + outer.suffix)
    }

    func apply(_ ids: [Int]) -> [Int] {
        if prefix.isEmpty && suffix.isEmpty { return ids }
        return prefix + ids + suffix
    }
}
