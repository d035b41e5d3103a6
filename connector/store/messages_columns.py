"""Names of the columns the declaration stage (issue 4) adds to the core declaration tables, and
the long uniform column lists of its write-off tables.

Kept apart so the table modules (which define them) and the migration 0002 (which adds them) share
one list. Codes are strings (customs code values), quantities and weights DecimalText.
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
# writeoffs (EMS221 EmsChgoffBsc): 进口/出口清单总数, 报核料件/成品/边角料/残次品总数
WRITEOFF_COUNTS = ("imp_invt_total_cnt", "exp_invt_total_cnt", "chgoff_mtpck_total_cnt", "chgoff_endprd_total_cnt",
                   "chgoff_lfmt_total_cnt", "chgoff_impr_total_cnt")
# writeoff_lines (EMS221 EmsChgoffDt): every quantity and amount, in XSD order (DecimalText)
WRITEOFF_LINE_QTYS = (
    "shd_remain_qty", "shd_remain_total_amt", "actl_remain_qty", "actl_remain_total_amt", "csm_total_qty",
    "csm_total_amt", "imp_or_exp_total_qty", "sdin_qty", "sdin_total_amt", "endprd_retn_exch_exp_qty",
    "endprd_retn_exch_imp_qty", "lfmt_impr_qty", "lfmt_impr_total_amt", "dprcs_crdw_impexp_qty", "reexp_qty",
    "remain_mtpck_trfout_qty", "mtpck_endprd_dstry_qty", "lfmt_dstry_qty", "vrfadd_qty", "vrfred_qty",
    "tgbl_loss_qty", "intgb_loss_qty", "dsml_qty", "dsml_amt", "dclcus_invt_avg_uprc_amt", "dsml_rate",
    "vclr_prid_init_qty")
