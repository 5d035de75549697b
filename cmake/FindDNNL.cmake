# FindDNNL: oneDNN (libdnnl) as the imported target DNNL::DNNL.
# Debian's dnnl-config.cmake insists on OpenCL (its GPU runtime), which mpq's CPU backend never
# uses, so mpq finds the library and header directly, in its own build and in mpqConfig.cmake.
find_library(DNNL_LIBRARY NAMES dnnl)
find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp)
include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(DNNL REQUIRED_VARS DNNL_LIBRARY DNNL_INCLUDE_DIR)
if(DNNL_FOUND AND NOT TARGET DNNL::DNNL)
  add_library(DNNL::DNNL UNKNOWN IMPORTED)
  set_target_properties(DNNL::DNNL PROPERTIES IMPORTED_LOCATION "${DNNL_LIBRARY}"
                                              INTERFACE_INCLUDE_DIRECTORIES "${DNNL_INCLUDE_DIR}")
endif()
mark_as_advanced(DNNL_LIBRARY DNNL_INCLUDE_DIR)
