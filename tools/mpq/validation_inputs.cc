#include "validation_inputs.h"

#include "api/build_engine.h"
#include "model_arg.h"

namespace mpq::cli {

ValidationInputs load_validation_inputs(const std::string& model, const std::string& calib,
                                        const data::DataSpec& data, const char* command) {
  ValidationInputs v;
  v.graph = load_model_arg(model);
  if (v.graph->inputs().size() != 1)
    unsupported(
        str(command, " needs a model with one input, this one has ", v.graph->inputs().size()))
        .file(model)
        .raise();
  std::string hash;
  v.table = api::read_table(calib, &hash);
  auto ds = data::open_dataset(data, v.graph->inputs()[0]->shape);
  v.images = ds->images(0, ds->size());
  if (ds->has_labels()) v.labels = ds->labels(0, ds->size());
  return v;
}

}  // namespace mpq::cli
