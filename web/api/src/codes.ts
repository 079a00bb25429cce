// The Chinese names of the codes the services answer with, for every front end (the console
// re-exports them from its labels.ts; the driver app imports them from here).

export const FIELD_LABELS: Record<string, string> = {
  name: "姓名",
  id_number: "身份证号",
  phone: "手机号",
  household_registration: "户籍",
  location: "工作或居住地",
  plate: "车牌号",
  employer: "所在企业或平台",
  file: "文件",
};

export const SOURCES: Record<string, string> = {
  freight_company: "货运企业",
  freight_platform: "货运平台",
  individual: "个体司机摸排",
};

export const IMPORT_STATUS: Record<string, string> = {
  running: "导入中",
  completed: "已完成",
  interrupted: "已中断",
  failed: "失败",
};

export const MEMBER_STATUS: Record<string, string> = {
  candidate: "待核实",
  verified: "已核实",
  rejected: "非党员",
};

export const ATTEMPT_METHODS: Record<string, string> = {
  field_visit: "上门走访",
  phone_call: "电话核实",
  group_meeting: "座谈会",
  data_comparison: "数据比对",
};

export const ATTEMPT_OUTCOMES: Record<string, string> = {
  confirmed: "确认是党员",
  not_a_member: "不是党员",
  unreachable: "未联系上",
};

export const MEETING_KINDS: Record<string, string> = {
  party_lesson: "党课",
  branch_member_meeting: "支部党员大会",
  branch_committee_meeting: "支部委员会",
  party_group_meeting: "党小组会",
  theme_party_day: "主题党日",
  training_class: "培训班",
  organisational_life: "组织生活会",
};

export const MEETING_MODES: Record<string, string> = { offline: "线下", online: "线上", hybrid: "线上线下结合" };

export const MEETING_STATUS: Record<string, string> = {
  scheduled: "已安排",
  held: "已召开",
  cancelled: "已取消",
};

export const VENUE_KINDS: Record<string, string> = {
  activity_room: "党员活动室",
  repair_shop: "维修厂",
  rest_station: "暖心之家驿站",
  online: "线上",
  other: "其他",
};

export const ATTENDANCE: Record<string, string> = {
  on_site: "现场参加",
  online: "线上参加",
  leave: "请假",
  absent: "缺席",
};

// As the services name them (roadbranch_shared.contracts.welfare.NEED_CATEGORIES, welfare's URGENCIES).
export const NEED_CATEGORIES: Record<string, string> = {
  certificate_review: "证件年审",
  medical: "看病就医",
  rights: "权益保障",
  road_traffic: "道路交通",
  parking_rest: "停车休息",
  family_hardship: "家庭困难",
  other: "其他",
};

export const URGENCY: Record<string, string> = { low: "一般", normal: "较急", high: "紧急", urgent: "特急" };

export const NEED_STATUS: Record<string, string> = {
  filed: "已受理",
  matched: "已匹配资源",
  assigned: "办理中",
  resolved: "已办结",
  reopened: "重新办理",
};

export const ORG_KINDS: Record<string, string> = {
  industry_committee: "行业党委",
  general_branch: "党总支",
  branch: "党支部",
  party_group: "党小组",
  work_group: "工作专班",
  work_subgroup: "工作小组",
};

export const CONTENT_CATEGORIES: Record<string, string> = {
  theory_policy: "理论政策",
  road_safety: "道路安全",
  laws_regulations: "法律法规",
  other: "其他",
};

export const QUIZ_PURPOSES: Record<string, string> = { knowledge_test: "知识测试", make_up: "补学测试" };

// What a branch must hold, and how often (组织生活达标): the meeting kinds and the secretary's lecture.
export const REQUIREMENTS: Record<string, string> = { ...MEETING_KINDS, secretary_lecture: "书记讲党课" };

export const PERIODS: Record<string, string> = { month: "每月", quarter: "每季度", year: "每年" };

export function label(table: Record<string, string>, code: string | null | undefined): string {
  if (!code) return "";
  return table[code] ?? code;
}

// 暖起来: care campaigns (送温暖、送健康、送服务), their stock, and the stations' facilities.

export const CAMPAIGN_KINDS: Record<string, string> = { warmth: "送温暖", health: "送健康", service: "送服务" };

export const CAMPAIGN_STATUS: Record<string, string> = { open: "进行中", closed: "已结束" };

/** The items the pilot handed out; a campaign may receive others under a name of its own. */
export const CAMPAIGN_ITEMS: Record<string, string> = {
  gloves: "手套",
  heatstroke_relief: "防暑降温用品",
  epidemic_supplies: "防疫物资",
};

/** A station's yes/no facilities (beds and parking spaces are counted apart). */
export const STATION_FACILITIES: Record<string, string> = {
  rest_room: "休息室",
  drinking_water: "饮用水",
  hot_water: "热水",
  food_heating: "热饭",
  shower: "淋浴",
  laundry: "洗衣",
};

// The driver's side: how he wants reminders (roster's contact preferences).
export const CHANNELS: Record<string, string> = {
  inbox: "站内消息",
  sms: "短信",
  wechat: "微信",
  email: "电子邮件",
};
