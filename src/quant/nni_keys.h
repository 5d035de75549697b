// The per-layer keys of NNI's calibration configs, in every version that wrote them:
//   v2.5-v2.10 (QAT, LSQ, DoReFa, BNN): weight_bits, weight_scale, weight_zero_point, input_bits,
//     tracked_min_input, tracked_max_input, output_bits, tracked_min_output, tracked_max_output;
//     ObserverQuantizer adds tracked_min_weight, tracked_max_weight and the integer ranges its
//     observers used: tracked_qmin_weight, tracked_qmax_weight, tracked_qmin_input, ...
//   v2.2-v2.4: weight_bit, input_bit (ObserverQuantizer), activation_bit,
//     tracked_min_activation, tracked_max_activation, tracked_weight_qmin, tracked_input_qmin,
//     tracked_activation_qmin (and the qmax ones); tracked_min_input/tracked_max_input as later.
// mpq reads every name and works with the v2.5+ one.
#pragma once

#include <string>
#include <vector>

namespace mpq::quant {

// The v2.5+ name of an NNI layer key given under any version's name; "" if NNI never wrote it.
// *renamed is set when `key` is an older (v2.2-v2.4) name.
std::string nni_v25_key(const std::string& key, bool* renamed);

// Every name NNI wrote, for "did you mean" suggestions.
const std::vector<std::string>& nni_key_names();

}  // namespace mpq::quant
