"""Names of the columns the declaration stage (issue 4) adds to the core declaration tables.

Kept apart so `tables.py` (which defines them) and the migration 0002 (which adds them) share one
list. Codes are strings (customs code values), quantities and weights DecimalText.
"""

# bond_invt_heads: 清单状态, 申报类型, 核扣方式, 进出卡口状态, 核放单生成标志, 报关标志, 报关单号, 关联清单, 料件成品标记
MESSAGES_HEAD_CODES = ("list_stat", "dcl_typecd", "vrfded_modecd", "invt_iochkpt_stucd", "passport_used_typecd",
                       "dclcus_flag", "entry_no", "rlt_invt_no", "mtpck_endprd_markcd")
# bond_invt_lines: 核放单使用数量, 实际过卡数量, weights, 第二法定数量
MESSAGES_LINE_QTYS = ("passport_used_qty", "actl_pass_qty", "gross_wt", "net_wt", "secd_lawf_qty")
# passports: codes and ids of the 核放单 head
MESSAGES_PASSPORT_CODES = ("logistics_stucd", "emapv_markcd", "dcl_typecd", "areain_oriact_no", "pass_id",
                           "secd_pass_id", "container_no")
# passports: the weights behind totalWt = vehicleWt + vehicleFrameWt + containerWt + totalGrossWt
MESSAGES_PASSPORT_WTS = ("vehicle_wt", "vehicle_frame_wt", "container_wt", "total_net_wt")
