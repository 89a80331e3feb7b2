# Writes the synthetic checkpoint of one preset into the build folder, once: a stamp file
# marks a complete folder. Fails loudly when the generator or numpy is missing.
#   cmake -DPYTHON=... -DSYNTH=.../synth_checkpoint.py -DPRESET=tiny -DOUT=build/models -P synth_models.cmake
foreach(var PYTHON SYNTH PRESET OUT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "synth_models.cmake: -D${var}=... is required")
  endif()
endforeach()
if(NOT EXISTS "${SYNTH}")
  message(FATAL_ERROR "checkpoint generator not found: ${SYNTH} (is ../shared next to the checkout?)")
endif()
set(dir "${OUT}/${PRESET}")
set(stamp "${dir}/.xclip_synth_complete")
if(EXISTS "${stamp}")
  return()
endif()
file(REMOVE_RECURSE "${dir}")
execute_process(COMMAND "${PYTHON}" "${SYNTH}" --preset "${PRESET}" --seed 0 --out "${dir}"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "synth_checkpoint.py --preset ${PRESET} failed (${rc}); it needs numpy (Debian: python3-numpy)")
endif()
file(WRITE "${stamp}" "seed 0\n")
