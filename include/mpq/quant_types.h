// How an integer quant type is laid out, in NNI's terms (config_list's quant_dtype and
// quant_scheme): shared by the config_list, the calibration table and the quantization math.
#pragma once

namespace mpq::quant {

enum class QuantDtype { kInt, kUint };
enum class QuantScheme {
  kPerTensorAffine,
  kPerTensorSymmetric,
  kPerChannelAffine,
  kPerChannelSymmetric
};

}  // namespace mpq::quant
