"""Which wire field fills which store column, per customs section (DOMAIN.md §1.3-§1.7).

Each spec is a tuple of (column, wire field, kind); kind is str | int | dec | time, and a
trailing "!" means the field is required. Wire names are the customs format's camelCase ones;
the enterprise import format is renamed to them first (adapters/declarations/enterprise.py).
"""

from __future__ import annotations

HEAD_FIELDS = (
    ("bond_invt_no", "bondInvtNo", "str!"), ("etps_inner_invt_no", "etpsInnerInvtNo", "str"),
    ("invt_preent_no", "invtPreentNo", "str"), ("putrec_no", "putrecNo", "str"),
    ("impexp_markcd", "impexpMarkcd", "str"), ("supv_modecd", "supvModecd", "str"),
    ("bond_invt_typecd", "bondInvtTypecd", "str"), ("vrfded_markcd", "vrfdedMarkcd", "str"),
    ("invt_stucd", "invtStucd", "str"), ("entry_stucd", "entryStucd", "str"),
    ("invt_dcl_time", "invtDclTime", "time"), ("prevd_time", "prevdTime", "time"),
    ("formal_vrfded_time", "formalVrfdedTime", "time"), ("list_stat", "listStat", "str"),
    ("dcl_typecd", "dclTypecd", "str"), ("vrfded_modecd", "vrfdedModecd", "str"),
    ("invt_iochkpt_stucd", "invtIochkptStucd", "str"), ("passport_used_typecd", "passportUsedTypecd", "str"),
    ("dclcus_flag", "dclcusFlag", "str"), ("entry_no", "entryNo", "str"), ("rlt_invt_no", "rltInvtNo", "str"),
    ("mtpck_endprd_markcd", "mtpckEndprdMarkcd", "str"))
LIST_LINE_FIELDS = (
    ("bond_invt_no", "bondInvtNo", "str!"), ("gds_seqno", "gdsSeqno", "int!"),
    ("putrec_seqno", "putrecSeqno", "int"), ("gds_mtno", "gdsMtno", "str"), ("gdecd", "gdecd", "str"),
    ("gds_nm", "gdsNm", "str"), ("dcl_unitcd", "dclUnitcd", "str"), ("dcl_qty", "dclQty", "dec"),
    ("lawf_unitcd", "lawfUnitcd", "str"), ("lawf_qty", "lawfQty", "dec"),
    ("secd_lawf_qty", "secdLawfQty", "dec"), ("gross_wt", "grossWt", "dec"), ("net_wt", "netWt", "dec"),
    ("passport_used_qty", "passportUsedQty", "dec"), ("actl_pass_qty", "actlPassQty", "dec"),
    ("modf_markcd", "modfMarkcd", "str"))
CENT_LINK_FIELDS = (("bond_invt_no", "bondInvtNo", "str!"), ("sas_stock_no", "sasStockNo", "str!"))
LEDGER_LINE_FIELDS = (
    ("bws_no", "bwsNo", "str!"), ("gds_seqno", "gdsSeqno", "int!"), ("gds_mtno", "gdsMtno", "str"),
    ("gdecd", "gdecd", "str"), ("gds_nm", "gdsNm", "str"), ("dcl_unitcd", "dclUnitcd", "str"),
    ("lawf_unitcd", "lawfUnitcd", "str"), ("in_qty", "inQty", "dec"),
    ("actl_inc_qty", "actlIncQty", "dec"), ("actl_redc_qty", "actlRedcQty", "dec"),
    ("prevd_inc_qty", "prevdIncQty", "dec"), ("prevd_redc_qty", "prevdRedcQty", "dec"),
    ("invt_no", "invtNo", "str"), ("invt_g_no", "invtGNo", "int"), ("modf_markcd", "modfMarkcd", "str"))
PASSPORT_FIELDS = (
    ("passport_no", "passportNo", "str!"), ("passport_typecd", "passportTypecd", "str"),
    ("io_typecd", "ioTypecd", "str"), ("bind_typecd", "bindTypecd", "str"),
    ("rlt_tb_typecd", "rltTbTypecd", "str"), ("rlt_no", "rltNo", "str"), ("stucd", "stucd", "str"),
    ("vehicle_no", "vehicleNo", "str"), ("total_wt", "totalWt", "dec"),
    ("total_gross_wt", "totalGrossWt", "dec"), ("pass_collect_wt", "passCollectWt", "dec"),
    ("wt_error", "wtError", "dec"), ("dcl_time", "dclTime", "time"), ("pass_time", "passTime", "time"),
    ("secd_pass_time", "secdPassTime", "time"), ("logistics_stucd", "logisticsStucd", "str"),
    ("emapv_markcd", "emapvMarkcd", "str"), ("dcl_typecd", "dclTypecd", "str"),
    ("areain_oriact_no", "areainOriactNo", "str"), ("pass_id", "passId", "str"),
    ("secd_pass_id", "secdPassId", "str"), ("container_no", "containerNo", "str"),
    ("vehicle_wt", "vehicleWt", "dec"), ("vehicle_frame_wt", "vehicleFrameWt", "dec"),
    ("container_wt", "containerWt", "dec"), ("total_net_wt", "totalNetWt", "dec"))
PASSPORT_LINE_FIELDS = (
    ("passport_no", "passportNo", "str!"), ("passport_seqno", "passportSeqno", "int!"),
    ("rlt_gds_seqno", "rltGdsSeqno", "int"), ("gds_mtno", "gdsMtno", "str"), ("gdecd", "gdecd", "str"),
    ("dcl_unitcd", "dclUnitcd", "str"), ("dcl_qty", "dclQty", "dec"), ("gross_wt", "grossWt", "dec"),
    ("net_wt", "netWt", "dec"))
LINK_FIELDS = (("passport_no", "passportNo", "str!"), ("rlt_tb_typecd", "rltTbTypecd", "str!"),
               ("rlt_no", "rltNo", "str!"))
ENTRY_LINK_FIELDS = (("passport_no", "passportNo", "str!"), ("entry_id", "entryId", "str!"))  # Sas2stepPassportRlt
STOCK_FIELDS = (
    ("sas_stock_no", "sasStockNo", "str!"), ("sas_stock_preent_no", "sasStockPreentNo", "str"),
    ("sas_dcl_no", "sasDclNo", "str"), ("master_cuscd", "masterCuscd", "str"),
    ("stock_typecd", "stockTypecd", "str"), ("dcl_typecd", "dclTypecd", "str"),
    ("business_typecd", "businessTypecd", "str"), ("centralized_dcl_typecd", "centralizedDclTypecd", "str"),
    ("rlt_bond_invt_no", "rltBondInvtNo", "str"), ("rlt_sas_stock_no", "rltSasStockNo", "str"),
    ("dcl_time", "dclTime", "time"), ("package_qty", "packageQty", "dec"), ("gross_wt", "grossWt", "dec"),
    ("net_wt", "netWt", "dec"), ("pass_typecd", "passTypecd", "str"),
    ("passport_used_typecd", "passportUsedTypecd", "str"), ("stucd", "stucd", "str"),
    ("emapv_markcd", "emapvMarkcd", "str"))
STOCK_LINE_FIELDS = (
    ("sas_stock_no", "sasStockNo", "str!"), ("sas_stock_seqno", "sasStockSeqno", "int!"),
    ("sas_dcl_seqno", "sasDclSeqno", "int"), ("oriact_gds_seqno", "oriactGdsSeqno", "int"),
    ("gds_mtno", "gdsMtno", "str"), ("gdecd", "gdecd", "str"), ("gds_nm", "gdsNm", "str"),
    ("dcl_unitcd", "dclUnitcd", "str"), ("dcl_qty", "dclQty", "dec"), ("lawf_unitcd", "lawfUnitcd", "str"),
    ("lawf_qty", "lawfQty", "dec"), ("gross_wt", "grossWt", "dec"), ("net_wt", "netWt", "dec"),
    ("actl_pass_qty", "actlPassQty", "dec"), ("passport_used_qty", "passportUsedQty", "dec"),
    ("rlt_stock_seqno", "rltStockSeqno", "int"))
FORM_FIELDS = (
    ("sas_dcl_no", "sasDclNo", "str!"), ("sas_dcl_preent_no", "sasDclPreentNo", "str"),
    ("master_cuscd", "masterCuscd", "str"), ("dcl_typecd", "dclTypecd", "str"),
    ("business_typecd", "businessTypecd", "str"), ("direction_typecd", "directionTypecd", "str"),
    ("areain_oriact_no", "areainOriactNo", "str"), ("areaout_oriact_no", "areaoutOriactNo", "str"),
    ("valid_time", "validTime", "time"), ("dcl_time", "dclTime", "time"),
    ("emapv_markcd", "emapvMarkcd", "str"), ("dcl_tb_stucd", "dclTbStucd", "str"))
FORM_LINE_FIELDS = (
    ("sas_dcl_no", "sasDclNo", "str!"), ("sas_dcl_seqno", "sasDclSeqno", "int!"),
    ("mtpck_endprd_typecd", "mtpckEndprdTypecd", "str"), ("oriact_gds_seqno", "oriactGdsSeqno", "int"),
    ("gdecd", "gdecd", "str"), ("gds_nm", "gdsNm", "str"), ("dcl_unitcd", "dclUnitcd", "str"),
    ("dcl_qty", "dclQty", "dec"), ("actl_areaout_qty", "actlAreaoutQty", "dec"),
    ("actl_areain_qty", "actlAreainQty", "dec"), ("invt_vdedt_qty", "invtVdedtQty", "dec"),
    ("rcnt_vdedt_time", "rcntVdedtTime", "time"))
RECEIPT_SOURCES = (  # section, business id, result, date: the first section present wins
    ("HdeApprResult", "businessId", "manageResult", "manageDate"),
    ("InvApprResult", "businessId", "manageResult", "createDate"),
    ("MsgReceResult", "bizNo", "manageResult", "manageDate"),
    ("CommonResponeMessage", "SeqNo", "DealFlag", None),
    ("BondInvtBsc", "bondInvtNo", None, "formalVrfdedTime"),
    ("SasPassportBsc", "passportNo", None, "dclTime"),
    ("Sas2stepPassportBsc", "passportNo", None, "dclTime"),
    ("SasStockBsc", "sasStockNo", None, "dclTime"),
    ("SasDclBsc", "sasDclNo", None, "dclTime"),
    ("BwsBsc", "bwsNo", None, None),
    ("LedgerQuery", "bwsNo", None, "queriedAt"),
    ("SasVehicleBsc", "vehicleNo", None, "dclTime"),
    ("EmsChgoffBsc", "emsNo", None, "chgoffDclTime"))
# The status fields a receipt reports for its document (receipts.doc_state), by head section.
STATE_FIELDS = {
    "BondInvtBsc": ("vrfdedMarkcd", "listStat", "invtStucd", "entryStucd", "invtIochkptStucd",
                    "passportUsedTypecd"),
    "SasPassportBsc": ("stucd", "logisticsStucd", "emapvMarkcd"),
    "Sas2stepPassportBsc": ("stucd", "logisticsStucd", "emapvMarkcd"),
    "SasStockBsc": ("stucd", "centralizedDclTypecd", "emapvMarkcd"),
    "SasDclBsc": ("dclTbStucd", "emapvMarkcd"),
    "SasVehicleBsc": ("stucd", "emapvMarkcd"),
    "EmsChgoffBsc": ("emapvMarkcd", "chgoffMarkcd", "dspsMarkcd"),
}
# message types -> which kind of document their head sections describe
LIST_TYPES = ("INV101", "INV201", "INV211")
PASSPORT_TYPES = ("SAS121", "SAS221", "SAS222", "SAS223", "SAS224", "ICP101", "SAS251", "SAS253")
STOCK_TYPES = ("SAS111", "SAS211", "SAS212", "SAS213")
FORM_TYPES = ("SAS101", "SAS201", "SAS202", "SAS203")
DECLARED_TYPES = ("INV101", "SAS101", "SAS111", "SAS121", "ICP101", "BWS101")  # what the firm sent
