# Turns one manual page's Markdown into troff with md2man.awk (beside this
# file).  Usage: cmake -DAWK=awk -DIN=jpki-ca.1.md -DOUT=jpki-ca.1 -P man.cmake
execute_process(COMMAND ${AWK} -f ${CMAKE_CURRENT_LIST_DIR}/md2man.awk ${IN}
  OUTPUT_FILE ${OUT} RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  file(REMOVE ${OUT})
  message(FATAL_ERROR "md2man.awk ${IN}: ${status}")
endif()
